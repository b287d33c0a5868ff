/**
 * Loading a synthetic tenant into dynalite through DynamoDbUsageStore.putCompanyUsage (BatchWriteItem),
 * with bounded concurrency, and remembering what was loaded: a marker item written after the last
 * company makes a later run skip the load (the dynalite data persists under .bench/data). A load that
 * was interrupted has no marker and is simply done again (putCompanyUsage replaces items).
 */
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbUsageStore } from '../lambdas/adapters/dynamodb/usage-store';
import { environmentIdOf, tenantCompanies, USAGE_TABLE, type TenantSpec } from './tenant';

export interface LoadResult {
  environmentId: string;
  /** False when the tenant was found already loaded. */
  loaded: boolean;
  companies: number;
  items: number;
  /** Seconds of this load, or of the original load when cached. */
  seconds: number;
  itemsPerSecond: number;
}

const MARKER_PK = 'BENCH#LOADED';

export async function ensureTenantLoaded(
  client: DynamoDBDocumentClient,
  spec: TenantSpec,
  concurrency: number,
  log: (line: string) => void,
): Promise<LoadResult> {
  const environmentId = environmentIdOf(spec);
  const { Item: marker } = await client.send(
    new GetCommand({ TableName: USAGE_TABLE, Key: { pk: MARKER_PK, sk: environmentId }, ConsistentRead: true }),
  );
  if (marker) {
    return {
      environmentId,
      loaded: false,
      companies: marker.companies as number,
      items: marker.items as number,
      seconds: marker.seconds as number,
      itemsPerSecond: (marker.items as number) / (marker.seconds as number),
    };
  }

  const store = new DynamoDbUsageStore({ client, tableName: USAGE_TABLE });
  const started = performance.now();
  let companies = 0;
  let items = 0;
  let nextReport = 0.1;
  const companiesIterator = tenantCompanies(spec)[Symbol.iterator]();
  // `concurrency` workers pulling from one generator: at most that many companies in flight.
  const worker = async (): Promise<void> => {
    for (let next = companiesIterator.next(); !next.done; next = companiesIterator.next()) {
      const company = next.value;
      await store.putCompanyUsage(environmentId, company);
      companies++;
      items += 1 + company.usage.length;
      if (companies / spec.companies >= nextReport) {
        const seconds = (performance.now() - started) / 1000;
        log(
          `  loading ${environmentId}: ${companies}/${spec.companies} companies, ${items} items, ${seconds.toFixed(0)} s (${(items / seconds).toFixed(0)} items/s)`,
        );
        nextReport += 0.1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await client.send(
    new PutCommand({
      TableName: USAGE_TABLE,
      Item: { pk: MARKER_PK, sk: environmentId, companies, items, seconds, loadedAt: new Date().toISOString() },
    }),
  );
  return { environmentId, loaded: true, companies, items, seconds, itemsPerSecond: items / seconds };
}
