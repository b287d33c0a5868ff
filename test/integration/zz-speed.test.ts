import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import { createEmulatorClients, ensureTables, startEmulators } from '../../lambdas/local/emulators';
test('speed', async () => {
  const emulators = await startEmulators();
  const clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, { configTable: 'config', usageTable: 'usage' });
  const usage = new DynamoDbUsageStore({ client: clients.documentClient, tableName: 'usage' });
  const t0 = Date.now();
  const N = 500;
  let next = 0;
  await Promise.all(Array.from({ length: Number(process.env.PAR) }, async () => {
    while (next < N) { const i = next++; await usage.recordFeedback('e', { id: `f${i}`, companyId: 'c', eventKey: 'k', at: Date.UTC(2026, 0, 1) + i * 3_600_000, score: (i % 5) + 1 }); }
  }));
  console.log('ms per record', (Date.now() - t0) / N);
  clients.destroy(); await emulators.stop();
}, 600000);
