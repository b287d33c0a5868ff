/**
 * The raw revisions export's core: which objects a run may number (the midnight cut-off), consecutive
 * numbering that resumes after the high-water mark, the budget, the guide files, settings and status.
 */
import { parse } from 'csv-parse/sync';
import { AccessDeniedError } from '../../lambdas/core/destination';
import { nextRawRunAt, revisionCutoff } from '../../lambdas/core/raw-revisions';
import type { RawRecord } from '../../lambdas/core/raw-log';
import type { FakeDestinationGateway } from '../support/fakes';
import { rawRevisionsFixture, type FakeRawLogObjects } from '../support/raw-export-fakes';

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
