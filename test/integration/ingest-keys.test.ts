/**
 * Ingest keys on dynalite: stored by hash only, rotated with a grace period checked at lookup time
 * (dynalite has no TTL, and AWS's deletes late), concurrent rotations decided by a conditional write.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbTenantStore } from '../../lambdas/adapters/dynamodb/tenant-store';
import { DynamoDbUsageStore } from '../../lambdas/adapters/dynamodb/usage-store';
import type { Caller } from '../../lambdas/core/access';
import { ConflictError, NotFoundError, UnauthorizedError } from '../../lambdas/core/errors';
import { IngestService } from '../../lambdas/core/ingest';
import { hashIngestKey } from '../../lambdas/core/ingest-keys';
import { TenancyService } from '../../lambdas/core/tenancy';
import {
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';
import { newId, newIngestKey } from '../../lambdas/services';
import { FakeClock } from '../support/fakes';
import { fakeIngestRecorders } from '../support/ingest-log-fakes';

const TABLES = { configTable: 'config', usageTable: 'usage' };
const HOUR_MS = 3_600_000;
const GRACE_MS = 24 * HOUR_MS;
const OPERATOR: Caller = { organizationId: 'ops', role: 'operator' };

let emulators: RunningEmulators;
let clients: EmulatorClients;
let tenancy: TenancyService;
let ingest: IngestService;
const clock = new FakeClock();

beforeAll(async () => {
  emulators = await startEmulators();
  clients = createEmulatorClients(emulators);
  await ensureTables(clients.dynamodb, TABLES);
  const tenants = new DynamoDbTenantStore({ client: clients.documentClient, tableName: TABLES.configTable });
  tenancy = new TenancyService({ tenants, clock, newId, newIngestKey, ingestKeyGraceMs: GRACE_MS });
  ingest = new IngestService({
    tenants,
    usage: new DynamoDbUsageStore({ client: clients.documentClient, tableName: TABLES.usageTable }),
    clock,
    ...fakeIngestRecorders(clock),
  });
});

afterAll(async () => {
  clients?.destroy();
  await emulators?.stop();
});

async function newEnvironment() {
  const organization = await tenancy.createOrganization(OPERATOR, { name: 'Acme', plan: 'pro' });
  const environment = await tenancy.createEnvironment(OPERATOR, organization.id, 'Production');
  return { environment, member: { organizationId: organization.id, role: 'member' } as Caller };
}

const authenticatesAs = async (ingestKey: string) => (await ingest.authenticate(ingestKey)).id;

describe('ingest keys on dynalite', () => {
  it('stores no key in plaintext: items hold its SHA-256 and a 6-character prefix', async () => {
    const { environment } = await newEnvironment();
    const { Items = [] } = await clients.documentClient.send(new ScanCommand({ TableName: TABLES.configTable }));
    const stored = JSON.stringify(Items);
    expect(stored).not.toContain(environment.ingestKey);
    expect(stored).toContain(`INGESTKEY#${hashIngestKey(environment.ingestKey)}`);
    expect(environment.ingestKeyPrefix).toBe(environment.ingestKey.slice(0, 6));
    expect(await authenticatesAs(environment.ingestKey)).toBe(environment.id);
    await expect(ingest.authenticate(`${environment.ingestKey}x`)).rejects.toBeInstanceOf(UnauthorizedError);
  });

  it('keeps the old key working during the grace period and refuses it after', async () => {
    clock.set(Date.parse('2026-03-01T10:00:00Z'));
    const { environment, member } = await newEnvironment();
    const rotated = await tenancy.rotateIngestKey(member, environment.id);
    expect(rotated.previousKeyValidUntil).toBe(clock.now() + GRACE_MS);
    expect(rotated.environment.ingestKey).not.toBe(environment.ingestKey);

    clock.advance(GRACE_MS - 1);
    expect(await authenticatesAs(environment.ingestKey)).toBe(environment.id);
    expect(await authenticatesAs(rotated.environment.ingestKey)).toBe(environment.id);

    clock.advance(1);
    await expect(ingest.authenticate(environment.ingestKey)).rejects.toThrow(
      /replaced and stopped working at 2026-03-02T10:00:00.000Z/,
    );
    expect(await authenticatesAs(rotated.environment.ingestKey)).toBe(environment.id);
    // The environment itself shows only the new key's prefix.
    expect(await tenancy.getEnvironment(member, environment.id)).toMatchObject({
      ingestKeyHash: hashIngestKey(rotated.environment.ingestKey),
      ingestKeyPrefix: rotated.environment.ingestKey.slice(0, 6),
    });
  });

  it('rotating twice: each replaced key ends at its own time, the newest stays', async () => {
    clock.set(Date.parse('2026-03-01T00:00:00Z'));
    const { environment: first, member } = await newEnvironment();
    const second = (await tenancy.rotateIngestKey(member, first.id)).environment;
    clock.advance(6 * HOUR_MS);
    const third = (await tenancy.rotateIngestKey(member, first.id)).environment;

    clock.set(Date.parse('2026-03-02T00:00:00Z')); // 24 h after the first rotation
    await expect(ingest.authenticate(first.ingestKey)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await authenticatesAs(second.ingestKey)).toBe(first.id);
    expect(await authenticatesAs(third.ingestKey)).toBe(first.id);

    clock.set(Date.parse('2026-03-02T06:00:00Z')); // 24 h after the second
    await expect(ingest.authenticate(second.ingestKey)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await authenticatesAs(third.ingestKey)).toBe(first.id);
  });

  it('a rotation never extends a replaced key: rotating again keeps the earlier end', async () => {
    clock.set(Date.parse('2026-04-01T00:00:00Z'));
    const { environment, member } = await newEnvironment();
    const tenants = new DynamoDbTenantStore({ client: clients.documentClient, tableName: TABLES.configTable });
    await tenancy.rotateIngestKey(member, environment.id);
    const current = (await tenants.getEnvironment(environment.id))!;
    // A replay of the first rotation (stale environment record) cannot switch keys, nor move the end.
    await expect(
      tenants.replaceIngestKey(environment, { hash: 'h', prefix: 'ik_xyz' }, clock.now() + 10 * GRACE_MS),
    ).rejects.toBeInstanceOf(ConflictError);
    expect(await tenants.findIngestKey('h')).toBeUndefined();
    expect((await tenants.findIngestKey(environment.ingestKeyHash))?.validUntil).toBe(clock.now() + GRACE_MS);
    expect(await tenants.getEnvironment(environment.id)).toEqual(current);
  });

  it('concurrent rotations: exactly one wins, the others answer 409 and their keys never work', async () => {
    const { environment, member } = await newEnvironment();
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => tenancy.rotateIngestKey(member, environment.id)),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(4);
    for (const failure of lost) expect(failure.reason).toBeInstanceOf(ConflictError);
    const winner = won[0].value;
    expect(await authenticatesAs(winner.environment.ingestKey)).toBe(environment.id);
    const { Items = [] } = await clients.documentClient.send(
      new ScanCommand({
        TableName: TABLES.configTable,
        FilterExpression: 'id = :id AND begins_with(pk, :keys)',
        ExpressionAttributeValues: { ':id': environment.id, ':keys': 'INGESTKEY#' },
      }),
    );
    // The first key (ending) and the winner's: no key of a lost rotation is left behind.
    expect(Items.map((item) => item.pk).sort()).toEqual(
      [environment.ingestKeyHash, winner.environment.ingestKeyHash].map((hash) => `INGESTKEY#${hash}`).sort(),
    );
  });

  it("another organization's member cannot rotate: 404, and the keys stay as they were", async () => {
    const { environment } = await newEnvironment();
    const { member: stranger } = await newEnvironment();
    await expect(tenancy.rotateIngestKey(stranger, environment.id)).rejects.toBeInstanceOf(NotFoundError);
    clock.advance(10 * GRACE_MS);
    expect(await authenticatesAs(environment.ingestKey)).toBe(environment.id);
  });
});
