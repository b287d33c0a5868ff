/**
 * Measures the two installed Parquet writers on the same rows, each in its own process (its own peak
 * RSS), streaming row groups of 20,000 rows with the GZIP codec, bytes discarded:
 *
 *   npx tsx bench/tools/parquet-writers.ts [rows]          (default 1,000,000)
 *
 * hyparquet-writer: ParquetWriter, one write() per row group, the writer flushing its bytes after each.
 * parquet-wasm:     apache-arrow builds each row group as a table, passed as IPC to parquet-wasm's
 *                   transformParquetStream (its streaming writer).
 */
import { fork } from 'node:child_process';

const ROW_GROUP = 20_000;
type Mode = 'hyparquet-writer' | 'parquet-wasm';

/** Columns of one row group: ts, eventName, identity, and 8 properties of the benchmark's kinds. */
function rowGroup(first: number, size: number) {
  const ts: bigint[] = [];
  const strings = { eventName: [] as string[], identity: [] as string[], plan: [] as string[], source: [] as string[], title: [] as string[], country: [] as string[] };
  const numbers = { rows: [] as number[], durationMs: [] as number[], price: [] as number[] };
  const beta: boolean[] = [];
  for (let i = first; i < first + size; i++) {
    ts.push(BigInt(Date.UTC(2026, 10, 22) + i * 80));
    strings.eventName.push(`event_${String(i % 20).padStart(2, '0')}`);
    strings.identity.push(`user-${(i * 7919) % 100_000}`);
    strings.plan.push(['free', 'pro', 'enterprise'][i % 3]);
    strings.source.push(`source-${i % 40}`);
    strings.title.push(`Report "${i % 500}", quarterly`);
    strings.country.push(['FR', 'DE', 'US', 'JP', 'BR'][i % 5]);
    numbers.rows.push(i % 10_000);
    numbers.durationMs.push((i * 37) % 60_000);
    numbers.price.push((i % 1000) / 4);
    beta.push(i % 2 === 0);
  }
  return { ts, strings, numbers, beta };
}

async function hyparquet(rows: number): Promise<number> {
  const { ByteWriter, ParquetWriter } = await import('hyparquet-writer');
  const { gzipSync } = await import('node:zlib');
  let bytes = 0;
  const out = new ByteWriter() as InstanceType<typeof ByteWriter> & { flush(): void };
  out.flush = () => {
    bytes += out.index;
    out.index = 0;
  };
  const first = rowGroup(0, 1);
  const schema = [
    { name: 'root', num_children: 11 },
    { name: 'ts', type: 'INT64' as const, logical_type: { type: 'TIMESTAMP' as const, isAdjustedToUTC: true, unit: 'MILLIS' as const }, repetition_type: 'REQUIRED' as const },
    ...Object.keys(first.strings).map((name) => ({ name, type: 'BYTE_ARRAY' as const, converted_type: 'UTF8' as const, repetition_type: 'OPTIONAL' as const })),
    ...Object.keys(first.numbers).map((name) => ({ name, type: 'DOUBLE' as const, repetition_type: 'OPTIONAL' as const })),
    { name: 'beta', type: 'BOOLEAN' as const, repetition_type: 'OPTIONAL' as const },
  ];
  const writer = new ParquetWriter({ writer: out, schema, codec: 'GZIP', compressors: { GZIP: (input) => gzipSync(input) } });
  for (let start = 0; start < rows; start += ROW_GROUP) {
    const group = rowGroup(start, Math.min(ROW_GROUP, rows - start));
    writer.write({
      columnData: [
        { name: 'ts', data: group.ts },
        ...Object.entries(group.strings).map(([name, data]) => ({ name, data })),
        ...Object.entries(group.numbers).map(([name, data]) => ({ name, data })),
        { name: 'beta', data: group.beta },
      ],
      rowGroupSize: ROW_GROUP,
    });
  }
  writer.finish();
  out.flush();
  return bytes;
}

async function parquetWasm(rows: number): Promise<number> {
  const arrow = await import('apache-arrow');
  // The package's `exports` map serves its Node build here; the types are those of that build.
  const wasm = (await import('parquet-wasm/node' as string)) as typeof import('parquet-wasm/node/parquet_wasm');
  const properties = new wasm.WriterPropertiesBuilder().setCompression(wasm.Compression.GZIP).build();
  let start = 0;
  const batches = new ReadableStream({
    pull(controller) {
      if (start >= rows) return controller.close();
      const group = rowGroup(start, Math.min(ROW_GROUP, rows - start));
      start += ROW_GROUP;
      const table = new arrow.Table({
        ts: arrow.vectorFromArray(group.ts.map(Number), new arrow.TimestampMillisecond()),
        ...Object.fromEntries(Object.entries(group.strings).map(([name, data]) => [name, arrow.vectorFromArray(data, new arrow.Utf8())])),
        ...Object.fromEntries(Object.entries(group.numbers).map(([name, data]) => [name, arrow.vectorFromArray(Float64Array.from(data))])),
        beta: arrow.vectorFromArray(group.beta, new arrow.Bool()),
      });
      for (const batch of wasm.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')).recordBatches()) controller.enqueue(batch);
    },
  });
  const output = await wasm.transformParquetStream(batches, properties);
  let bytes = 0;
  for await (const chunk of output as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
  return bytes;
}

async function child(mode: Mode, rows: number): Promise<void> {
  const started = performance.now();
  const bytes = await (mode === 'hyparquet-writer' ? hyparquet(rows) : parquetWasm(rows));
  const seconds = (performance.now() - started) / 1000;
  process.send!({ mode, rows, seconds, bytes, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }, () => process.exit(0));
}

async function main(): Promise<void> {
  const [mode, rowsArg] = process.argv.slice(2);
  if (mode === 'hyparquet-writer' || mode === 'parquet-wasm') return child(mode, Number(rowsArg));
  const rows = Number(mode ?? 1_000_000);
  for (const each of ['hyparquet-writer', 'parquet-wasm'] as const) {
    const result = await new Promise<{ seconds: number; bytes: number; maxRssMb: number }>((resolve, reject) => {
      const process_ = fork(__filename, [each, String(rows)], { execArgv: process.execArgv });
      process_.on('message', (message) => resolve(message as never));
      process_.on('exit', (code) => code !== 0 && reject(new Error(`${each} exited with ${code}`)));
    });
    console.log(
      `${each}: ${rows.toLocaleString('en-US')} rows in ${result.seconds.toFixed(2)} s = ${Math.round(rows / result.seconds).toLocaleString('en-US')} rows/s, ` +
        `${(result.bytes / 1e6).toFixed(1)} MB, peak RSS ${result.maxRssMb} MB`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
