/**
 * The raw revisions section of `npm run bench`: at each size, N synthetic records are written into the
 * local raw log (s3rver in its own process), then one raw revisions run copies every object of the log
 * into revisions/<N>.json of a destination bucket on the same s3rver (its store on dynalite, another
 * process), then a plain copy of the same objects through the same sink gives the floor. Each run in
 * its own process, so each peak RSS is that run's own. Targets: revisions at >= 0.5 x the plain
 * copy's MB/s, and the revisions run's peak RSS flat (within 15 %) from the smallest size to the largest.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmulatorProcess, runChild } from './processes';
import { RAW_BUCKET } from './raw-log-bench';
import type { RawLogRunResult, RawLogRunSpec } from './raw-log-run';
import type { RawRevisionsRunResult, RawRevisionsRunSpec } from './raw-revisions-run';
import { fixed, int, mbFromKb, table } from './report';

const START_AT = Date.UTC(2026, 11, 6, 0, 0, 0);
const SPAN_HOURS = 24;
/** Noon of the next day: every record is of a day before the run's. */
const RUN_AT = START_AT + 36 * 3_600_000;
const COPY_TARGET_RATIO = 0.5;
const FLAT_TOLERANCE = 0.15;

export interface RawRevisionsSize {
  records: number;
  /** JSON bytes (uncompressed) of the log's records. */
  jsonBytes: number;
  revisions: RawRevisionsRunResult;
  copy: RawRevisionsRunResult;
}

export async function runRawRevisionsBench(
  options: { sizes: number[]; benchDir: string },
  log: (line?: string) => void,
) {
  log(
    `Raw revisions: sizes ${options.sizes.map(int).join(', ')} records, received over ${SPAN_HOURS} h, run as of the next day's 12:00 UTC`,
  );
  const sizes: RawRevisionsSize[] = [];
  for (const records of options.sizes) {
    const dataDir = join(options.benchDir, 'revisions', String(records));
    await rm(dataDir, { recursive: true, force: true });
    // The store holds one item per revision: dynalite in memory.
    const [s3, dynamodb] = await Promise.all([startEmulatorProcess('s3', dataDir), startEmulatorProcess('dynamodb')]);
    try {
      const environmentId = `bench-revisions-${records}`;
      const logSpec: RawLogRunSpec = {
        mode: 'write',
        s3Endpoint: s3.endpoint,
        bucket: RAW_BUCKET,
        environmentId,
        records,
        startAt: START_AT,
        spanHours: SPAN_HOURS,
      };
      const written = await runChild<RawLogRunResult>('raw-log-run.ts', logSpec);
      log(
        `  ${int(records)} records in the log: ${written.objects} objects, ${fixed(written.jsonBytes / 1e6, 0)} MB of JSON`,
      );
      const spec: RawRevisionsRunSpec = {
        mode: 'revisions',
        s3Endpoint: s3.endpoint,
        dynamodbEndpoint: dynamodb.endpoint,
        rawBucket: RAW_BUCKET,
        environmentId,
        scheduledTime: RUN_AT,
      };
      const revisions = await runChild<RawRevisionsRunResult>('raw-revisions-run.ts', spec);
      log(`  revisions: ${revisions.objects} in ${fixed(revisions.seconds)} s`);
      const copy = await runChild<RawRevisionsRunResult>('raw-revisions-run.ts', { ...spec, mode: 'copy' });
      if (copy.objects !== revisions.objects || copy.bytesRead !== revisions.bytesRead) {
        throw new Error(
          `The copy read ${copy.objects} objects (${copy.bytesRead} bytes), the run ${revisions.objects} (${revisions.bytesRead} bytes).`,
        );
      }
      log(`  plain copy: ${copy.objects} objects in ${fixed(copy.seconds)} s`);
      sizes.push({ records, jsonBytes: written.jsonBytes, revisions, copy });
    } finally {
      await Promise.all([s3.stop(), dynamodb.stop()]);
      await rm(dataDir, { recursive: true, force: true });
    }
  }
  log();
  const targets = rawRevisionsTargets(sizes);
  printSummary(sizes, targets, log);
  await writeFile(
    join(options.benchDir, 'raw-revisions-results.json'),
    JSON.stringify({ generatedAt: new Date().toISOString(), sizes, targets }, null, 2) + '\n',
  );
  return { sizes, targets };
}

/**
 * Both runs read the same objects (the same gzip bytes, holding the same log JSON), so their MB/s are
 * on one basis, the log's JSON, and the ratio of their MB/s is the ratio of their times. What each
 * wrote differs (the revisions' JSON lines, or the gzip objects as they are): shown beside it.
 */
function rawRevisionsTargets(sizes: RawRevisionsSize[]) {
  const ratios = sizes.map((s) => s.copy.seconds / s.revisions.seconds);
  const peaks = sizes.map((s) => s.revisions.maxRssKb / 1024);
  return {
    revisionsVsCopy: { met: ratios.every((r) => r >= COPY_TARGET_RATIO), ratios },
    revisionsRssFlat: {
      met: peaks.length < 2 || peaks[peaks.length - 1] <= peaks[0] * (1 + FLAT_TOLERANCE),
      peaksMb: peaks,
    },
  };
}

function printSummary(
  sizes: RawRevisionsSize[],
  targets: ReturnType<typeof rawRevisionsTargets>,
  log: (line?: string) => void,
): void {
  const mbps = (s: RawRevisionsSize, seconds: number) => fixed(s.jsonBytes / 1e6 / seconds, 1);
  const mb = (bytes: number) => fixed(bytes / 1e6, 1);
  log(
    "Raw revisions summary (MB/s = 10^6 bytes of the log's JSON, uncompressed, per second: the same input for both runs;",
  );
  log(
    "MB read = the log's gzip objects, MB written = what went into the bucket; s3rver and dynalite in other processes)",
  );
  log();
  log(
    table(
      [
        'records',
        'run',
        'objects',
        'seconds',
        'revisions/s',
        'MB/s',
        'MB read',
        'MB written',
        'peak RSS MB',
        'revisions / copy',
      ],
      sizes.flatMap((s) => [
        [
          int(s.records),
          'raw revisions run',
          int(s.revisions.objects),
          fixed(s.revisions.seconds),
          fixed(s.revisions.objects / s.revisions.seconds, 1),
          mbps(s, s.revisions.seconds),
          mb(s.revisions.bytesRead),
          mb(s.revisions.bytesWritten),
          mbFromKb(s.revisions.maxRssKb),
          fixed(s.copy.seconds / s.revisions.seconds, 2),
        ],
        [
          int(s.records),
          'plain copy of the objects (floor)',
          int(s.copy.objects),
          fixed(s.copy.seconds),
          fixed(s.copy.objects / s.copy.seconds, 1),
          mbps(s, s.copy.seconds),
          mb(s.copy.bytesRead),
          mb(s.copy.bytesWritten),
          mbFromKb(s.copy.maxRssKb),
          '',
        ],
      ]),
    ),
  );
  log();
  const mark = (met: boolean) => (met ? 'met' : 'NOT met');
  log('Targets:');
  log(
    `  revisions >= ${COPY_TARGET_RATIO} x the plain copy (MB/s): ${mark(targets.revisionsVsCopy.met)} (${targets.revisionsVsCopy.ratios.map((r) => fixed(r, 2)).join(', ')})`,
  );
  log(
    `  revisions peak RSS flat within ${FLAT_TOLERANCE * 100} %: ${mark(targets.revisionsRssFlat.met)} (${targets.revisionsRssFlat.peaksMb.map((p) => fixed(p, 0)).join(' -> ')} MB)`,
  );
  if (sizes.length < 2) log('  (one size only: pass --revision-sizes A,B to see memory across sizes)');
  log();
}
