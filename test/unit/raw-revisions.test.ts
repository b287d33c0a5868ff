/**
 * The raw revisions export's core: which objects a run may number (the midnight cut-off), consecutive
 * numbering that resumes after the high-water mark, the budget, the guide files, settings and status.
 */
import { parse } from 'csv-parse/sync';
import { AccessDeniedError } from '../../lambdas/core/destination';
import { nextRawRunAt, revisionCutoff } from '../../lambdas/core/raw-revisions';
import { revisionLine } from '../../lambdas/core/export/revision-lines';
import type { RawRecord } from '../../lambdas/core/raw-log';
import type { FakeDestinationGateway } from '../support/fakes';
import { rawRevisionsFixture, FakeRawLogObjects } from '../support/raw-export-fakes';

const HOUR = 3_600_000;
const DAY1 = Date.parse('2026-12-01T00:00:00Z');
const member = { organizationId: 'org_1', role: 'member' as const };

const hourKey = (at: number, name: string) => {
  const d = new Date(at).toISOString();
  return `raw/env1/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${d.slice(11, 13)}/${name}.jsonl.gz`;
};
const event = (id: string, receivedAt: number): RawRecord => ({
  id,
  environmentId: 'env1',
  receivedAt,
  type: 'event',
  userId: 'u',
  event: 'e',
  timestamp: receivedAt,
});

const setUp = (plan: 'enterprise' | 'pro' = 'enterprise') => rawRevisionsFixture({ plan, now: DAY1 });

/** Objects `perDay` a day from DAY1 on, each of 2 records, one per hour from 01:00. */
function addObjects(objects: FakeRawLogObjects, days: number, perDay: number): string[] {
  const keys: string[] = [];
  for (let day = 0; day < days; day++) {
    for (let i = 0; i < perDay; i++) {
      const at = DAY1 + day * 24 * HOUR + (i + 1) * HOUR;
      const key = hourKey(at, `local-raw-events-1-${i}`);
      objects.add(key, [event(`${key}#a`, at), event(`${key}#b`, at + 60_000)]);
      keys.push(key);
    }
  }
  return keys;
}

const revisionsWritten = (gateway: FakeDestinationGateway) =>
  gateway.objects.filter((o) => o.key.startsWith('km/revisions/')).map((o) => o.key);
const latest = (gateway: FakeDestinationGateway, key: string) =>
  gateway.objects.filter((o) => o.key === key).at(-1)!.body;

test('the cut-off: 00:00 UTC of the run day, never an hour that ended less than 15 minutes before the run', () => {
  const day2 = DAY1 + 24 * HOUR;
  expect(revisionCutoff(day2 + 12 * HOUR, day2 + 12 * HOUR)).toBe(day2);
  expect(revisionCutoff(day2, day2)).toBe(day2 - HOUR);
  expect(revisionCutoff(day2, day2 + 20 * 60_000)).toBe(day2);
  expect(nextRawRunAt(day2)).toBe(day2 + 12 * HOUR);
  expect(nextRawRunAt(day2 + 11 * HOUR)).toBe(day2 + 12 * HOUR);
  expect(nextRawRunAt(day2 + 12 * HOUR)).toBe(day2 + 24 * HOUR);
});

test('a run numbers the objects received before midnight 1, 2, ... in receive order, and the next goes on from the mark', async () => {
  const { service, store, objects, gateway } = await setUp();
  await service.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['a@acme.example'],
  });
  const keys = addObjects(objects, 3, 3);
  const day2noon = DAY1 + 36 * HOUR;
  const first = await service.run({
    environmentId: 'env1',
    scheduledTime: day2noon,
    runAt: day2noon,
    budgetMs: 60_000,
  });
  const revisions = [1, 2, 3].map((n) => latest(gateway, `km/revisions/${n}.json`));
  expect(first).toEqual({
    outcome: 'successful',
    written: [1, 2, 3],
    exportedRevisions: 3,
    totalRevisions: 9,
    complete: true,
    // The lines and bytes of the revisions it wrote.
    records: revisions
      .join('')
      .split('\n')
      .filter((line) => line !== '').length,
    bytes: revisions.reduce((sum, text) => sum + Buffer.byteLength(text), 0),
  });
  expect(
    revisions
      .join('')
      .split('\n')
      .filter((line) => line !== ''),
  ).toHaveLength(6);
  expect(latest(gateway, 'km/revisions/2.json')).toBe(
    `${JSON.stringify({ _p: 'u', _t: (DAY1 + 2 * HOUR) / 1000, _n: 'e' })}\n${JSON.stringify({ _p: 'u', _t: (DAY1 + 2 * HOUR + 60_000) / 1000, _n: 'e' })}\n`,
  );
  // The customer deletes revision 1: nothing writes it again, the numbers go on.
  const second = await service.run({
    environmentId: 'env1',
    scheduledTime: DAY1 + 84 * HOUR,
    runAt: DAY1 + 84 * HOUR,
    budgetMs: 60_000,
  });
  expect(second).toMatchObject({ outcome: 'successful', written: [4, 5, 6, 7, 8, 9] });
  expect(revisionsWritten(gateway)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `km/revisions/${n}.json`));
  expect((await store.getProgress('env1'))?.lastObjectKey).toBe(keys[8]);
  expect(parse(latest(gateway, 'km/status.csv'))[1]).toEqual([
    '9',
    '9',
    String((DAY1 + 2 * 24 * HOUR + 3 * HOUR + 60_000) / 1000),
    '2026-12-03 03:01:00',
  ]);
  const index = parse(latest(gateway, 'km/index.csv'));
  expect(index).toHaveLength(10);
  expect(index[1]).toEqual([
    'revisions/1.json',
    String((DAY1 + HOUR) / 1000),
    String((DAY1 + HOUR + 60_000) / 1000),
    '2026-12-01 01:00:00',
    '2026-12-01 01:01:00',
  ]);
});

test('a budget spent after the first revision leaves the rest to the next run, without a gap or a repeat', async () => {
  const { service, objects, gateway } = await setUp();
  await service.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['a@acme.example'],
  });
  addObjects(objects, 1, 4);
  const runs = [];
  for (let i = 0; i < 5; i++)
    runs.push(
      await service.run({
        environmentId: 'env1',
        scheduledTime: DAY1 + 36 * HOUR,
        runAt: DAY1 + 36 * HOUR,
        budgetMs: 0,
      }),
    );
  expect(runs.map((run) => run.outcome === 'successful' && [run.written, run.complete])).toEqual([
    [[1], false],
    [[2], false],
    [[3], false],
    [[4], true],
    [[], true],
  ]);
  expect(revisionsWritten(gateway)).toEqual([1, 2, 3, 4].map((n) => `km/revisions/${n}.json`));
});

test('a run while another holds the lease does nothing; a disabled export does not run', async () => {
  const { service, store, objects } = await setUp();
  addObjects(objects, 1, 2);
  expect(await service.run({ environmentId: 'env1', scheduledTime: DAY1 + 36 * HOUR, budgetMs: 0 })).toMatchObject({
    outcome: 'skipped',
  });
  await service.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['a@acme.example'],
  });
  await store.claimRun('env1', { claimId: 'other', at: DAY1, until: DAY1 + 48 * HOUR });
  expect(await service.run({ environmentId: 'env1', scheduledTime: DAY1 + 36 * HOUR, budgetMs: 0 })).toEqual({
    outcome: 'skipped',
    reason: 'Another run of the raw export is in progress.',
  });
});

test("a destination's refusal fails the run as the customer's, keeps the mark, and the status says so", async () => {
  const { service, store, objects, gateway, clock } = await setUp();
  await service.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['a@acme.example'],
  });
  addObjects(objects, 1, 2);
  gateway.writeError = new AccessDeniedError('lake', 'km');
  clock.set(DAY1 + 36 * HOUR);
  expect(await service.run({ environmentId: 'env1', scheduledTime: DAY1 + 36 * HOUR, budgetMs: 0 })).toMatchObject({
    outcome: 'failed',
    written: [],
    records: 0,
    errorCode: 'access_denied',
    failureClass: 'customer',
  });
  expect(await store.getProgress('env1')).toMatchObject({
    exportedRevisions: 0,
    failingSince: DAY1 + 36 * HOUR,
    failingErrorCode: 'access_denied',
  });
  expect(await service.getStatus(member, 'env1')).toEqual({
    totalRevisions: 2,
    exportedRevisions: 0,
    maxExportedTimestamp: null,
    maxExportedAt: null,
    lastRunAt: '2026-12-02T12:00:00.000Z',
    nextRunAt: '2026-12-03T00:00:00.000Z',
    status: 'failed',
    error: gateway.writeError.message,
  });
});

test('settings: enterprise only; enabling needs an existing destination and addresses; enabling schedules, disabling unschedules', async () => {
  const pro = await setUp('pro');
  await expect(pro.service.getSettings(member, 'env1')).rejects.toThrow('Raw export requires the enterprise plan');
  const { service, scheduler, store } = await setUp();
  expect(await service.getStatus(member, 'env1')).toMatchObject({
    status: 'never ran before',
    totalRevisions: 0,
    nextRunAt: null,
  });
  await expect(service.putSettings(member, 'env1', { enabled: true, notifyEmails: [] })).rejects.toThrow(
    'Invalid raw export settings. destinationId: required to enable the raw export; notifyEmails: add 1 to 10 addresses to warn when runs fail.',
  );
  await expect(
    service.putSettings(member, 'env1', { enabled: true, destinationId: 'dst_9', notifyEmails: ['a@acme.example'] }),
  ).rejects.toThrow('no destination dst_9');
  const saved = await service.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['a@acme.example'],
  });
  expect(saved).toMatchObject({ enabled: true, destinationId: 'dst_1', version: 1 });
  expect([...scheduler.schedules]).toEqual(['env1']);
  await expect(service.putSettings(member, 'env1', { enabled: false, notifyEmails: [], version: 0 })).rejects.toThrow(
    'changed since you read them',
  );
  await service.putSettings(member, 'env1', { enabled: false, destinationId: 'dst_1', notifyEmails: [], version: 1 });
  expect([...scheduler.schedules]).toEqual([]);
  expect((await store.getSettings('env1'))?.version).toBe(2);
});

test("the budget is the clock's: revisions are started while it lasts, the one in progress is finished", async () => {
  const { service, objects, gateway, clock } = await setUp();
  await service.putSettings(member, 'env1', {
    enabled: true,
    destinationId: 'dst_1',
    notifyEmails: ['a@acme.example'],
  });
  addObjects(objects, 1, 5);
  clock.set(DAY1 + 36 * HOUR);
  // Each upload takes 4 minutes: with 10 minutes, revisions start at 0, 4 and 8 minutes.
  gateway.onWrite = () => clock.advance(4 * 60_000);
  const run = await service.run({ environmentId: 'env1', scheduledTime: DAY1 + 36 * HOUR, budgetMs: 10 * 60_000 });
  expect(run).toMatchObject({ outcome: 'successful', written: [1, 2, 3], complete: false, totalRevisions: 5 });
});

const enable = (service: Awaited<ReturnType<typeof setUp>>['service']) =>
  service.putSettings(member, 'env1', { enabled: true, destinationId: 'dst_1', notifyEmails: ['a@acme.example'] });
const DAY2_NOON = DAY1 + 36 * HOUR;

describe('the high-water mark', () => {
  test('a run whose lease was taken over stops at its next raise: the mark stays, the run is skipped', async () => {
    const { service, store, objects, gateway } = await setUp();
    await enable(service);
    addObjects(objects, 1, 3);
    // Another run takes the lease while the first revision is uploaded.
    gateway.onWrite = () =>
      Object.assign(store.progress.get('env1')!, { leaseId: 'other', leaseUntil: DAY1 + 48 * HOUR });
    expect(
      await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 }),
    ).toEqual({
      outcome: 'skipped',
      reason: 'Another run took over the raw export; this one stopped.',
    });
    expect(revisionsWritten(gateway)).toEqual(['km/revisions/1.json']);
    expect(store.progress.get('env1')).toMatchObject({ exportedRevisions: 0, leaseId: 'other' });
    expect(store.progress.get('env1')!.lastStatus).toBeUndefined();
  });

  test("the run's lease: taken at its start, for its budget and 5 minutes more", async () => {
    const { service, store, objects } = await setUp();
    await enable(service);
    addObjects(objects, 1, 1);
    const claims: { at: number; until: number }[] = [];
    const claimRun = store.claimRun.bind(store);
    store.claimRun = (environmentId, claim) => {
      claims.push({ at: claim.at, until: claim.until });
      return claimRun(environmentId, claim);
    };
    await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 });
    expect(claims).toEqual([{ at: DAY2_NOON, until: DAY2_NOON + 60_000 + 5 * 60_000 }]);
  });

  test('an object of the hour ending at the cut-off is a revision; one of the next hour waits', async () => {
    const { service, objects, store } = await setUp();
    await enable(service);
    const day2 = DAY1 + 24 * HOUR;
    const lastHour = hourKey(day2 - HOUR, 'local-raw-events-1-0');
    objects.add(lastHour, [event('a', day2 - HOUR)]);
    objects.add(hourKey(day2, 'local-raw-events-1-0'), [event('b', day2)]);
    expect(
      await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 }),
    ).toMatchObject({
      outcome: 'successful',
      written: [1],
      totalRevisions: 2,
      complete: true,
    });
    expect((await store.getProgress('env1'))?.lastObjectKey).toBe(lastHour);
  });

  test('the mark keeps the latest item time of all revisions, whatever their order', async () => {
    const { service, store, objects, gateway } = await setUp();
    await enable(service);
    // Client timestamps: the first object received holds the later items; the last one holds none.
    objects.add(hourKey(DAY1 + HOUR, 'a'), [{ ...event('a', DAY1 + HOUR), timestamp: DAY1 + 5 * HOUR }]);
    objects.add(hourKey(DAY1 + 2 * HOUR, 'b'), [{ ...event('b', DAY1 + 2 * HOUR), timestamp: DAY1 + 3 * HOUR }]);
    objects.add(hourKey(DAY1 + 3 * HOUR, 'c'), []);
    const run = await service.run({
      environmentId: 'env1',
      scheduledTime: DAY2_NOON,
      runAt: DAY2_NOON,
      budgetMs: 60_000,
    });
    expect(run).toMatchObject({ outcome: 'successful', written: [1, 2, 3], records: 2 });
    expect(await store.getProgress('env1')).toMatchObject({
      exportedRevisions: 3,
      maxExportedTimestamp: (DAY1 + 5 * HOUR) / 1000,
    });
    expect(latest(gateway, 'km/revisions/3.json')).toBe('');
    expect(parse(latest(gateway, 'km/status.csv'))[1]).toEqual([
      '3',
      '3',
      String((DAY1 + 5 * HOUR) / 1000),
      '2026-12-01 05:00:00',
    ]);
    expect(parse(latest(gateway, 'km/index.csv')).slice(1)).toEqual([
      [
        'revisions/1.json',
        String((DAY1 + 5 * HOUR) / 1000),
        String((DAY1 + 5 * HOUR) / 1000),
        '2026-12-01 05:00:00',
        '2026-12-01 05:00:00',
      ],
      [
        'revisions/2.json',
        String((DAY1 + 3 * HOUR) / 1000),
        String((DAY1 + 3 * HOUR) / 1000),
        '2026-12-01 03:00:00',
        '2026-12-01 03:00:00',
      ],
      ['revisions/3.json', '', '', '', ''],
    ]);
    const revisions = [...(store.revisions.get('env1')?.values() ?? [])];
    expect(revisions.map(({ n, objectKey, lines, exportedAt }) => ({ n, objectKey, lines, exportedAt }))).toEqual([
      { n: 1, objectKey: hourKey(DAY1 + HOUR, 'a'), lines: 1, exportedAt: DAY2_NOON },
      { n: 2, objectKey: hourKey(DAY1 + 2 * HOUR, 'b'), lines: 1, exportedAt: DAY2_NOON },
      { n: 3, objectKey: hourKey(DAY1 + 3 * HOUR, 'c'), lines: 0, exportedAt: DAY2_NOON },
    ]);
  });

  test('a revision larger than a chunk is written whole, its bytes counted in UTF-8', async () => {
    const { service, store, objects, gateway } = await setUp();
    await enable(service);
    const key = hourKey(DAY1 + HOUR, 'big');
    const records = Array.from({ length: 600 }, (_, i) => ({
      ...event(`r${i}`, DAY1 + HOUR + i),
      attributes: { note: `é-${i}-${'x'.repeat(200)}` },
    }));
    objects.add(key, records);
    const run = await service.run({
      environmentId: 'env1',
      scheduledTime: DAY2_NOON,
      runAt: DAY2_NOON,
      budgetMs: 60_000,
    });
    const body = latest(gateway, 'km/revisions/1.json');
    expect(body).toBe(records.map((record) => `${revisionLine(record)}\n`).join(''));
    expect(run).toMatchObject({ records: 600, bytes: Buffer.byteLength(body) });
    expect(store.revisions.get('env1')?.get(1)).toMatchObject({ lines: 600, bytes: Buffer.byteLength(body) });
  });
});

describe('a run: where it writes, and its failures', () => {
  test('revisions are JSON lines and the guide files CSV, written with the unsealed key', async () => {
    const { service, objects, gateway } = await setUp();
    await enable(service);
    addObjects(objects, 1, 1);
    await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 });
    expect(gateway.objects.map(({ key, contentType, credentials }) => ({ key, contentType, credentials }))).toEqual(
      ['km/revisions/1.json', 'km/status.csv', 'km/index.csv'].map((key, i) => ({
        key,
        contentType: i === 0 ? 'application/x-ndjson' : 'text/csv',
        credentials: { accessKeyId: 'AKIA1', secretAccessKey: 'secret' },
      })),
    );
  });

  test("a bucket-policy destination is written with the service's own identity", async () => {
    const { service, objects, gateway } = await rawRevisionsFixture({ now: DAY1, auth: 'bucketPolicy' });
    await enable(service);
    addObjects(objects, 1, 1);
    await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 });
    expect(new Set(gateway.objects.map((o) => o.credentials.accessKeyId))).toEqual(new Set(['service-export-role']));
  });

  test('a deleted destination fails the run as the customer’s, dated by the run, with what to do', async () => {
    const { service, store, destinations, objects } = await setUp();
    await enable(service);
    addObjects(objects, 1, 1);
    await destinations.delete('env1', 'dst_1', 1);
    const error =
      "The raw export's destination dst_1 no longer exists. Choose an existing destination in the raw export settings.";
    expect(
      await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 0 }),
    ).toEqual({
      outcome: 'failed',
      written: [],
      exportedRevisions: 0,
      records: 0,
      bytes: 0,
      error,
      errorCode: 'destination_missing',
      failureClass: 'customer',
    });
    expect(await store.getProgress('env1')).toMatchObject({
      lastRunAt: DAY2_NOON,
      lastStatus: 'failed',
      lastError: error,
      failingSince: DAY2_NOON,
      failingErrorCode: 'destination_missing',
    });
  });

  test('a failure after some revisions reports them, and the next run resumes after them', async () => {
    const { service, objects, gateway } = await setUp();
    await enable(service);
    addObjects(objects, 1, 3);
    let writes = 0;
    gateway.onWrite = () => {
      if (++writes === 2) gateway.writeError = new AccessDeniedError('lake', 'km');
    };
    expect(
      await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 }),
    ).toMatchObject({
      outcome: 'failed',
      written: [1],
      exportedRevisions: 1,
      records: 2,
    });
    gateway.writeError = undefined;
    expect(
      await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 }),
    ).toMatchObject({
      outcome: 'successful',
      written: [2, 3],
      exportedRevisions: 3,
    });
  });

  test('an export turned on without a destination does not run', async () => {
    const { service, store } = await setUp();
    await store.putSettings({ environmentId: 'env1', enabled: true, notifyEmails: [], updatedAt: DAY1, version: 1 }, 0);
    expect(await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, budgetMs: 0 })).toEqual({
      outcome: 'skipped',
      reason: 'The raw export is not enabled.',
    });
  });
});

describe('settings and status', () => {
  test('settings never saved: off, version 0; a save answers them whole and ends a failure sequence', async () => {
    const { service, store } = await setUp();
    expect(await service.getSettings(member, 'env1')).toEqual({
      enabled: false,
      destinationId: null,
      notifyEmails: [],
      updatedAt: null,
      stoppedAt: null,
      stoppedReason: null,
      version: 0,
    });
    store.progress.set('env1', {
      environmentId: 'env1',
      exportedRevisions: 4,
      failingSince: DAY1,
      failingErrorCode: 'access_denied',
      emailsSent: [1],
    });
    expect(
      await service.putSettings(member, 'env1', {
        enabled: true,
        destinationId: 'dst_1',
        notifyEmails: ['a@acme.example'],
        version: 0,
      }),
    ).toEqual({
      enabled: true,
      destinationId: 'dst_1',
      notifyEmails: ['a@acme.example'],
      updatedAt: '2026-12-01T00:00:00.000Z',
      stoppedAt: null,
      stoppedReason: null,
      version: 1,
    });
    expect(await store.getProgress('env1')).toEqual({ environmentId: 'env1', exportedRevisions: 4 });
    expect(await service.getSettings(member, 'env1')).toMatchObject({ enabled: true, version: 1 });
  });

  test('a destination named while off must exist too; a stale save names the version now', async () => {
    const { service, store } = await setUp();
    await expect(
      service.putSettings(member, 'env1', { enabled: false, destinationId: 'dst_9', notifyEmails: [] }),
    ).rejects.toThrow(
      'Invalid raw export settings. destinationId: no destination dst_9 in this environment; create one with POST .../destinations.',
    );
    await enable(service);
    await expect(
      service.putSettings(member, 'env1', { enabled: false, notifyEmails: [], version: 3 }),
    ).rejects.toMatchObject({
      name: 'StaleRawExportSettingsError',
      message:
        'The raw export settings were changed since you read them (they are at version 1 now). Reload them and save again.',
    });
    // Saved by someone else between the read and the write.
    const putSettings = store.putSettings.bind(store);
    store.putSettings = async (settings, expectedVersion) => {
      await putSettings({ ...settings, notifyEmails: ['b@acme.example'], version: 2 }, 1);
      await putSettings({ ...settings, notifyEmails: ['c@acme.example'], version: 3 }, 2);
      return putSettings(settings, expectedVersion);
    };
    await expect(service.putSettings(member, 'env1', { enabled: false, notifyEmails: [], version: 1 })).rejects.toThrow(
      'they are at version 3 now',
    );
  });

  test('the status of a successful run, of a stopped export, and the revisions waiting', async () => {
    const { service, store, objects, clock } = await setUp();
    await enable(service);
    addObjects(objects, 2, 2);
    await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 });
    clock.set(DAY2_NOON + HOUR);
    const maxExportedTimestamp = (DAY1 + 2 * HOUR + 60_000) / 1000;
    expect(await service.getStatus(member, 'env1')).toEqual({
      totalRevisions: 4,
      exportedRevisions: 2,
      maxExportedTimestamp,
      maxExportedAt: '2026-12-01T02:01:00.000Z',
      lastRunAt: '2026-12-02T12:00:00.000Z',
      nextRunAt: '2026-12-03T00:00:00.000Z',
      status: 'successful',
      error: null,
    });
    await store.stop('env1', 1, DAY2_NOON + HOUR, 'Stopped after 72 hours of failures.');
    expect(await service.getStatus(member, 'env1')).toMatchObject({
      status: 'stopped',
      error: 'Stopped after 72 hours of failures.',
      nextRunAt: null,
    });
  });
});

test('a failed upload leaves no listing of the log open', async () => {
  /** Counts the listings in progress: a listing left suspended would hold its S3 pages. */
  class CountedListings extends FakeRawLogObjects {
    open = 0;
    override async *listObjects(environmentId: string, afterKey?: string) {
      this.open++;
      try {
        yield* super.listObjects(environmentId, afterKey);
      } finally {
        this.open--;
      }
    }
  }
  const objects = new CountedListings();
  const { service, gateway } = await rawRevisionsFixture({ now: DAY1, objects });
  await enable(service);
  addObjects(objects, 1, 3);
  gateway.writeError = new AccessDeniedError('lake', 'km');
  expect(
    await service.run({ environmentId: 'env1', scheduledTime: DAY2_NOON, runAt: DAY2_NOON, budgetMs: 60_000 }),
  ).toMatchObject({ outcome: 'failed', errorCode: 'access_denied' });
  expect(objects.open).toBe(0);
});
