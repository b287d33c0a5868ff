/**
 * csvEncoder vs the prototype encoders (fast-csv, batched csv-stringify) on edge cases: no rows, formula
 * triggers, quotes, commas, line breaks, carriage returns, non-ASCII (`npx tsx bench/tools/csv-edge-cases.ts`).
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { csvEncoder } from '../../lambdas/core/export/csv';
import type { Cell, Encoder } from '../../lambdas/core/export/pipeline';
import { batchedCsvEncoder } from '../prototypes/batched-stringify';
import { fastCsvEncoder } from '../prototypes/fast-csv';

async function encode(encoder: Encoder, rows: Cell[][]): Promise<string> {
  let out = '';
  await pipeline(
    Readable.from(rows, { objectMode: true }),
    encoder.createStream(),
    new Writable({ write: (chunk: Buffer, _e, cb) => { out += chunk.toString('utf8'); cb(); } }),
  );
  return out;
}

async function main(): Promise<void> {
  const columns = ['a', 'b', 'c'];
  const cases: Cell[][][] = [
    [],
    [['x', 1, null]],
    [['=1+1', '-5', -5], ['+x', '@y', '\tz'], ['\rr', 'a,b', 'q"uote'], ['line\nbreak', '', 0], ['é ü 日本', '\u2028', 'cr\r'], ['', null, 1.5e21]],
  ];
  for (const rows of cases) {
    const service = await encode(csvEncoder(columns), rows);
    for (const [name, encoder] of [['fast-csv', fastCsvEncoder(columns)], ['batched csv-stringify', batchedCsvEncoder(columns)]] as const) {
      const other = await encode(encoder, rows);
      console.log(`${name}: ${other === service ? 'same' : 'DIFFERENT'}`, JSON.stringify(service), other === service ? '' : JSON.stringify(other));
    }
  }
}

main();
