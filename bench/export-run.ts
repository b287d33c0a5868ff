/**
 * One measured run, in its own process so that its peak RSS is the export's own (the emulators run in
 * other processes). Started by bench/export-bench.ts with a RunSpec as JSON in argv[2]; sends a
 * RunResult back over IPC and exits.
 *
 * A run is a source and a stage to stop at; the encoder is csvEncoder, what the service runs:
 *   source   store          DynamoDbUsageStore.streamCompanyUsage against dynalite (what the service runs)
 *            memory         the same synthetic companies generated in memory beforehand (no I/O)
 *   stage    read           consume the source only (companies, items)
 *            rows           + companyRowBatches (rows computed, not encoded)
 *            encode         + runExport with the encoder into a sink that discards the bytes
 *            file           + runExport into LocalFileSink
 *            s3             + runExport into S3ObjectSink (s3rver)
 */
import { basename, dirname } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DynamoDbUsageStore } from '../lambdas/adapters/dynamodb/usage-store';
import { LocalFileSink } from '../lambdas/adapters/local/file-sink';
import { S3ObjectSink } from '../lambdas/adapters/s3/object-sink';
import { COMPANY_COLUMN_GROUPS, COMPANY_COLUMNS } from '../lambdas/core/company-row';
import { companyRowBatches, type SourceStats } from '../lambdas/core/export/company-source';
import { csvEncoder } from '../lambdas/core/export/csv';
import { runExport, type Encoder, type ObjectSink } from '../lambdas/core/export/pipeline';
import { dataPoints } from '../lambdas/core/periods';
import type { CompanyUsage } from '../lambdas/core/model';
import { benchClients } from './clients';
import {
  BENCH_SEGMENTS,
  benchFeatures,
  environmentIdOf,
  EXPORT_BUCKET,
  tenantCompanies,
  USAGE_TABLE,
  type TenantSpec,
} from './tenant';
import { finishChild } from './processes';

export type RunSource = 'store' | 'memory';
export type RunStage = 'read' | 'rows' | 'encode' | 'file' | 's3';

export interface RunSpec {
  label: string;
  tenant: TenantSpec;
  source: RunSource;
  stage: RunStage;
  dynamodbEndpoint?: string;
  s3Endpoint?: string;
  /** The file the `file` stage writes (through LocalFileSink: its directory and name). */
  outFile?: string;
  /** S3ObjectSink options for the s3 stage (defaults: the sink's, 5 MiB parts, 4 in parallel). */
  s3PartSizeMb?: number;
  s3QueueSize?: number;
  /** Sample process.memoryUsage() every this many ms during the measured part (see RunResult.memorySamples). */
  sampleMemoryMs?: number;
}

export interface MemorySample {
  /** Seconds since the measured part started. */
  t: number;
  /** Company x feature pairs read so far (progress). */
  pairs: number;
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
}

export interface RunResult {
  label: string;
  source: RunSource;
  stage: RunStage;
  companies: number;
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  mbPerSecond: number;
  pairs: number;
  itemsRead: number;
  itemsPerPair: number;
  /** Peak RSS of this process over the whole run (process.resourceUsage().maxRSS), KB. */
  maxRssKb: number;
  /** Peak RSS just before the measured part started (modules loaded, memory source generated), KB. */
  setupRssKb: number;
  /** CPU time of this process during the measured part. */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  /** CPU time of the whole process (start-up and setup included). */
  processCpuSeconds: number;
  /** Generating the in-memory source (memory source only; not part of `seconds`). */
  prepareSeconds: number;
  memorySamples?: MemorySample[];
}

/** A sink that reads the body to the end and drops it: encoding cost without any write. */
const discardingSink: ObjectSink = {
  async write(_key: string, body: Readable): Promise<void> {
    await pipeline(body, new Writable({ write: (_chunk, _encoding, callback) => callback() }));
  },
};

async function* fromArray<T>(items: readonly T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]) as RunSpec;
  const environmentId = environmentIdOf(spec.tenant);
  const features = benchFeatures(spec.tenant.features);
  const points = dataPoints('6m-weekly', spec.tenant.endAt);

  const clients = benchClients(spec);
  const store = new DynamoDbUsageStore({ client: clients.documentClient, tableName: USAGE_TABLE });

  let prepareSeconds = 0;
  let source: () => AsyncIterable<CompanyUsage>;
  /** Usage-store items read for the companies streamed so far. */
  let itemsRead = () => store.itemsStreamed;
  if (spec.source === 'memory') {
    const started = performance.now();
    const companies: CompanyUsage[] = [];
    for (const company of tenantCompanies(spec.tenant)) companies.push(company);
    prepareSeconds = (performance.now() - started) / 1000;
    // What the store would have read: each company's item and one per usage record.
    let streamedItems = 0;
    itemsRead = () => streamedItems;
    source = async function* () {
      for await (const company of fromArray(companies)) {
        streamedItems += 1 + company.usage.length;
        yield company;
      }
    };
  } else {
    source = () => store.streamCompanyUsage(environmentId);
  }

  const encoder: Encoder = csvEncoder(COMPANY_COLUMNS, COMPANY_COLUMN_GROUPS);
  const stats: SourceStats = { companies: 0, pairs: 0 };
  const setupRssKb = process.resourceUsage().maxRSS;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let rows = 0;
  let bytes = 0;
  const memorySamples: MemorySample[] = [];
  const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;
  const sample = () => {
    const m = process.memoryUsage();
    memorySamples.push({
      t: Math.round(performance.now() - started) / 1000,
      pairs: stats.pairs,
      rssMb: mib(m.rss),
      heapUsedMb: mib(m.heapUsed),
      heapTotalMb: mib(m.heapTotal),
      externalMb: mib(m.external),
      arrayBuffersMb: mib(m.arrayBuffers),
    });
  };
  const sampler = spec.sampleMemoryMs ? setInterval(sample, spec.sampleMemoryMs) : undefined;

  switch (spec.stage) {
    case 'read': {
      for await (const _company of source()) {
        // As runExport does per batch: the page read ahead is requested and received meanwhile.
        await new Promise<void>((resolve) => setImmediate(resolve));
        stats.companies++;
        stats.pairs += features.length;
      }
      break;
    }
    case 'rows': {
      for await (const batch of companyRowBatches(source(), features, BENCH_SEGMENTS, points, stats))
        rows += batch.length;
      break;
    }
    case 'encode':
    case 'file':
    case 's3': {
      let sink: ObjectSink;
      let key = `${environmentId}.csv`;
      if (spec.stage === 'encode') {
        sink = discardingSink;
      } else if (spec.stage === 'file') {
        if (!spec.outFile) throw new Error('The file stage needs outFile.');
        sink = new LocalFileSink({ directory: dirname(spec.outFile) });
        key = basename(spec.outFile);
      } else {
        sink = new S3ObjectSink({
          client: clients.s3,
          bucket: EXPORT_BUCKET,
          keyPrefix: 'bench',
          ...(spec.s3PartSizeMb ? { partSizeBytes: spec.s3PartSizeMb * 1024 * 1024 } : {}),
          ...(spec.s3QueueSize ? { queueSize: spec.s3QueueSize } : {}),
        });
      }
      const result = await runExport({
        rows: companyRowBatches(source(), features, BENCH_SEGMENTS, points, stats),
        encoder,
        sink,
        key,
      });
      rows = result.rowCount;
      bytes = result.byteCount;
      break;
    }
  }

  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (sampler) {
    clearInterval(sampler);
    sample();
  }
  clients.destroy();
  const result: RunResult = {
    label: spec.label,
    source: spec.source,
    stage: spec.stage,
    companies: stats.companies,
    rows,
    bytes,
    seconds,
    rowsPerSecond: rows / seconds,
    mbPerSecond: bytes / 1e6 / seconds,
    pairs: stats.pairs,
    itemsRead: itemsRead(),
    itemsPerPair: stats.pairs === 0 ? 0 : itemsRead() / stats.pairs,
    maxRssKb: process.resourceUsage().maxRSS,
    setupRssKb,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    processCpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    prepareSeconds,
    ...(sampler ? { memorySamples } : {}),
  };
  finishChild(result);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
