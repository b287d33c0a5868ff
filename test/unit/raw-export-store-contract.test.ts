/** The in-memory raw export store the unit tests use keeps the shared contract (also run on dynalite). */
import { FakeRawExportStore } from '../support/raw-export-fakes';
import { rawExportStoreContract } from '../support/raw-export-store-contract';

describe('FakeRawExportStore (contract)', () => rawExportStoreContract(() => new FakeRawExportStore()));
