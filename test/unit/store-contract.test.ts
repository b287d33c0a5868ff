/** The in-memory fakes the core's unit tests use keep the stores' contract (test/support/store-contract.ts). */
import {
  FakeExportRunStore,
  FakeFailingExportsStore,
  FakeManualExportStore,
  FakeSettingsStore,
} from '../support/fakes';
import { describeConfigStoreContract } from '../support/store-contract';

describe('the in-memory fakes', () => {
  describeConfigStoreContract(() => {
    const runs = new FakeExportRunStore();
    return {
      settings: new FakeSettingsStore(),
      runs,
      failing: new FakeFailingExportsStore(runs),
      manualJobs: new FakeManualExportStore(),
    };
  });
});
