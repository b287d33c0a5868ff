/**
 * The raw event log end to end: items sent by the official @bucketco/node-sdk (and the alias route)
 * land in the local raw bucket, survive a shutdown right after their 200, come back from the reader
 * once each in receive order with every field, and DuckDB reads the objects; the catalog lists them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { BucketClient } from '@bucketco/node-sdk';
import { DuckDBInstance } from '@duckdb/node-api';
import type { RawRecord } from '../../lambdas/core/raw-log';
import { LOCAL_RAW_EVENTS_BUCKET } from '../../lambdas/local/wiring';
import { startTestService, type TestService } from '../support/local-service';
import { createTenant, type Member } from '../support/tenants';

let service: TestService;
let tenant: Member;
let startedAt: number;
let received: RawRecord[];
const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

async function rawKeys(): Promise<string[]> {
  const { Contents = [] } = await service.clients.s3.send(
    new ListObjectsV2Command({ Bucket: LOCAL_RAW_EVENTS_BUCKET, Prefix: `raw/${tenant.environmentId}/` }),
  );
  return Contents.map((object) => object.Key!);
}

beforeAll(async () => {
  // A flush interval longer than the test: only the shutdown writes the objects.
  service = await startTestService({ rawEventsFlushIntervalMs: 10 * 60_000 });
  tenant = await createTenant(service, 'enterprise', 'Raw Co');
  startedAt = Date.now();

  const client = new BucketClient({
    secretKey: tenant.ingestKey,
    apiBaseUrl: `${service.url}/ingest`,
    offline: false,
    batchOptions: { flushOnExit: false, intervalMs: 0, maxSize: 100 },
    logger: quiet,
  });
  await client.updateCompany('acme', {
    attributes: { name: 'Acme, Inc.', plan: 'enterprise', tags: ['b2b'] },
    userId: 'alice',
    meta: { active: true },
  });
  await client.updateUser('alice', {
    attributes: { name: 'Alice', email: 'alice@acme.io', phone: '+33 1 23' },
    meta: { active: false },
  });
  await client.track('alice', 'report_run', { attributes: { rows: 1200, format: 'csv' }, meta: { active: true } });
  await client.track('bob', 'dashboard_viewed', { companyId: 'globex', attributes: { page: { id: 7 } } });
  await client.flush();
  const alias = await service.call('POST', '/ingest/alias', {
    headers: { authorization: `Bearer ${tenant.ingestKey}` },
    body: { userId: 'alice', alias: 'anonymous-42' },
  });
  expect(alias.body).toEqual({ success: true });
});

afterAll(() => service?.stop());

describe('the raw event log of local mode', () => {
  it('holds everything answered 200 in memory until shutdown, which writes it all', async () => {
    expect(await rawKeys()).toEqual([]);
    // What local mode's Ctrl-C does once the HTTP server is closed.
    await service.services.rawLog.close();
    const keys = await rawKeys();
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys)
      expect(key).toMatch(
        new RegExp(
          `^raw/${tenant.environmentId}/\\d{4}/\\d{2}/\\d{2}/\\d{2}/local-raw-events-1-[\\d-]{19}-[0-9a-f-]{36}\\.jsonl\\.gz$`,
        ),
      );

    received = [];
    for await (const batch of service.services.rawEvents.readBatches(tenant.environmentId, {
      from: startedAt,
      to: Date.now() + 1,
    }))
      received.push(...batch);
  });

  it('gives back each item sent by the SDK once, in receive order, with every field', () => {
    const fields = received.map(({ id: _id, receivedAt: _receivedAt, timestamp: _timestamp, ...rest }) => rest);
    const common = { environmentId: tenant.environmentId };
    expect(fields).toEqual([
      {
        ...common,
        type: 'company',
        companyId: 'acme',
        userId: 'alice',
        attributes: { name: 'Acme, Inc.', plan: 'enterprise', tags: ['b2b'] },
        context: { active: true },
      },
      {
        ...common,
        type: 'user',
        userId: 'alice',
        attributes: { name: 'Alice', email: 'alice@acme.io', phone: '+33 1 23' },
        context: { active: false },
      },
      {
        ...common,
        type: 'event',
        userId: 'alice',
        event: 'report_run',
        attributes: { rows: 1200, format: 'csv' },
        context: { active: true },
      },
      {
        ...common,
        type: 'event',
        userId: 'bob',
        companyId: 'globex',
        event: 'dashboard_viewed',
        attributes: { page: { id: 7 } },
      },
      { ...common, type: 'alias', userId: 'alice', alias: 'anonymous-42' },
    ]);
    expect(new Set(received.map((record) => record.id)).size).toBe(received.length);
    const times = received.map((record) => record.receivedAt);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    for (const record of received) {
      expect(record.receivedAt).toBeGreaterThanOrEqual(startedAt);
      // Sent without a timestamp: the item's time is its receive time.
      expect(record.timestamp).toBe(record.receivedAt);
    }
  });

  it('can be read by DuckDB with read_json over the downloaded .jsonl.gz objects', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'raw-events-'));
    try {
      for (const key of await rawKeys()) {
        const { Body } = await service.clients.s3.send(
          new GetObjectCommand({ Bucket: LOCAL_RAW_EVENTS_BUCKET, Key: key }),
        );
        await mkdir(dirname(join(directory, key)), { recursive: true });
        await writeFile(join(directory, key), await Body!.transformToByteArray());
      }
      const instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      const reader = await connection.runAndReadAll(
        `select type, userId, event, attributes.rows as rows, alias from read_json('${directory}/raw/*/*/*/*/*/*.jsonl.gz') order by type, userId`,
      );
      const rows = reader.getRowObjectsJson();
      connection.closeSync();
      instance.closeSync();
      expect(rows).toEqual([
        { type: 'alias', userId: 'alice', event: null, rows: null, alias: 'anonymous-42' },
        { type: 'company', userId: 'alice', event: null, rows: null, alias: null },
        { type: 'event', userId: 'alice', event: 'report_run', rows: '1200', alias: null }, // BIGINT, as JSON text,
        { type: 'event', userId: 'bob', event: 'dashboard_viewed', rows: null, alias: null },
        { type: 'user', userId: 'alice', event: null, rows: null, alias: null },
      ]);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('lists every event name and property key in the catalog', async () => {
    const { status, body } = await service.call('GET', `/v1/environments/${tenant.environmentId}/events`, {
      token: tenant.token,
    });
    expect(status).toBe(200);
    expect(body.items).toEqual([
      {
        name: 'dashboard_viewed',
        firstSeen: expect.any(String),
        lastSeen: expect.any(String),
        count: 1,
        propertyKeys: ['page'],
      },
      {
        name: 'report_run',
        firstSeen: expect.any(String),
        lastSeen: expect.any(String),
        count: 1,
        propertyKeys: ['format', 'rows'],
      },
    ]);
    expect(Date.parse(body.items[0].firstSeen)).toBeGreaterThanOrEqual(startedAt);
  });

  it('keeps the user profile', async () => {
    const profiles = [];
    for await (const profile of service.services.profiles.listProfilesChangedSince(tenant.environmentId, startedAt))
      profiles.push(profile);
    expect(profiles).toEqual([
      {
        userId: 'alice',
        attributes: { name: 'Alice', email: 'alice@acme.io', phone: '+33 1 23' },
        firstSeen: expect.any(Number),
        updatedAt: expect.any(Number),
      },
    ]);
  });
});
