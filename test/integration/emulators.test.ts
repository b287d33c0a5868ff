import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import {
  LocalDataOutdatedError,
  createEmulatorClients,
  ensureTables,
  startEmulators,
  type EmulatorClients,
  type RunningEmulators,
} from '../../lambdas/local/emulators';

interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body: { text?: string; html?: string };
}

describe('in-memory emulators', () => {
  let emulators: RunningEmulators;
  let clients: EmulatorClients;

  beforeAll(async () => {
    emulators = await startEmulators({ buckets: ['exports'] });
    clients = createEmulatorClients(emulators);
  });

  afterAll(async () => {
    clients?.destroy();
    await emulators?.stop();
  });

  test('ensureTables refuses a config table from before its indexes, saying how to start over', async () => {
    await clients.dynamodb.send(
      new CreateTableCommand({
        TableName: 'old-config',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    const ensuring = ensureTables(clients.dynamodb, { configTable: 'old-config', usageTable: 'old-usage' });
    await expect(ensuring).rejects.toBeInstanceOf(LocalDataOutdatedError);
    await expect(ensuring).rejects.toThrow(/index\(es\) failing, unreconciled, transient.*rm -rf \.local/);
  });

  test('listen on distinct random local ports', () => {
    const endpoints = [emulators.dynamodbEndpoint, emulators.s3Endpoint, emulators.sesEndpoint];
    for (const endpoint of endpoints) expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(new Set(endpoints).size).toBe(3);
  });

  test('s3rver: creates a bucket, stores objects and lists them across pages', async () => {
    await clients.s3.send(new CreateBucketCommand({ Bucket: 'customer-bucket' }));
    const keys = Array.from({ length: 7 }, (_, i) => `exports/2024/day-${i}.csv`);
    for (const key of keys) {
      await clients.s3.send(new PutObjectCommand({ Bucket: 'customer-bucket', Key: key, Body: `id,name\n${key},ü\n` }));
    }
    const listed: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: clients.s3, pageSize: 3 },
      { Bucket: 'customer-bucket', Prefix: 'exports/' },
    )) {
      listed.push(...(page.Contents ?? []).map((object) => object.Key!));
    }
    expect(listed).toEqual([...keys].sort());
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: 'customer-bucket', Key: keys[0] }));
    expect(await object.Body!.transformToString()).toBe(`id,name\n${keys[0]},ü\n`);

    // The bucket configured at start exists.
    const configured = await clients.s3.send(new ListObjectsV2Command({ Bucket: 'exports' }));
    expect(configured.KeyCount).toBe(0);
  });

  test('SES emulator receives an email sent with the SES v2 client and exposes it at /store', async () => {
    const { MessageId } = await clients.ses.send(
      new SendEmailCommand({
        FromEmailAddress: 'exports@example.com',
        Destination: { ToAddresses: ['owner@customer.example'] },
        Content: {
          Simple: {
            Subject: { Data: 'Your data export failed' },
            Body: { Text: { Data: 'Fix the destination within three days.' } },
          },
        },
      }),
    );
    const response = await fetch(`${emulators.sesEndpoint}/store`);
    const { emails } = (await response.json()) as { emails: StoredEmail[] };
    expect(emails).toContainEqual(
      expect.objectContaining({
        messageId: MessageId,
        from: 'exports@example.com',
        destination: expect.objectContaining({ to: ['owner@customer.example'] }),
        subject: 'Your data export failed',
        body: expect.objectContaining({ text: 'Fix the destination within three days.' }),
      }),
    );
  });
});

describe('emulators with a data folder', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'emulators-test-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('keep tables and objects across a restart', async () => {
    const tables = { configTable: 'config', usageTable: 'usage' };
    const first = await startEmulators({ dataDir, buckets: ['exports'] });
    const firstClients = createEmulatorClients(first);
    try {
      await ensureTables(firstClients.dynamodb, tables);
      await firstClients.documentClient.send(
        new PutCommand({ TableName: 'config', Item: { pk: 'ORG#1', sk: 'META', name: 'Acme' } }),
      );
      await firstClients.s3.send(new PutObjectCommand({ Bucket: 'exports', Key: 'kept.csv', Body: 'a,b\n' }));
    } finally {
      firstClients.destroy();
      await first.stop();
    }

    const second = await startEmulators({ dataDir, buckets: ['exports'] });
    const secondClients = createEmulatorClients(second);
    try {
      await ensureTables(secondClients.dynamodb, tables);
      const { Item } = await secondClients.documentClient.send(
        new GetCommand({ TableName: 'config', Key: { pk: 'ORG#1', sk: 'META' } }),
      );
      expect(Item).toEqual({ pk: 'ORG#1', sk: 'META', name: 'Acme' });
      const object = await secondClients.s3.send(new GetObjectCommand({ Bucket: 'exports', Key: 'kept.csv' }));
      expect(await object.Body!.transformToString()).toBe('a,b\n');
    } finally {
      secondClients.destroy();
      await second.stop();
    }
  });

  test('report a busy port instead of crashing', async () => {
    const holder = await startEmulators();
    try {
      for (const service of ['dynamodb', 's3', 'ses'] as const) {
        const busy = Number(new URL(holder.dynamodbEndpoint).port);
        await expect(startEmulators({ ports: { [service]: busy } })).rejects.toThrow(/EADDRINUSE|not available/);
      }
    } finally {
      await holder.stop();
    }
  });
});
