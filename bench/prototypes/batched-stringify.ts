/**
 * PROTOTYPE (not used by the service): P1a, csv-stringify kept (same options as csvEncoder, so the same
 * bytes), but called through its synchronous API once per 512 rows instead of as a stream that emits
 * one chunk per row. The 2 million per-row chunks of a 6m-weekly export, each converted to a Buffer
 * and passed through the byte counter and the file or S3 stream, become ~4,000 chunks of ~115 KB.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { stringify, type Options } from 'csv-stringify/sync';
import { neutralizeFormula } from '../../lambdas/core/export/csv';
import type { Cell, Encoder } from '../../lambdas/core/export/pipeline';

const ROWS_PER_CHUNK = 512;

class BatchedStringifier extends Transform {
  private rows: (readonly Cell[])[] = [];
  private headerWritten = false;

  constructor(private readonly options: Options) {
    super({ writableObjectMode: true });
  }

  private flushRows(): void {
    // Like the streaming stringifier, the header comes with the first record.
    if (this.rows.length === 0) return;
    this.push(stringify(this.rows as Cell[][], { ...this.options, header: !this.headerWritten }), 'utf8');
    this.headerWritten = true;
    this.rows = [];
  }

  override _transform(row: readonly Cell[], _encoding: BufferEncoding, callback: TransformCallback): void {
    this.rows.push(row);
    if (this.rows.length >= ROWS_PER_CHUNK) this.flushRows();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    this.flushRows();
    // No rows at all: the header alone, as the streaming stringifier writes it.
    if (!this.headerWritten) this.push(stringify([], { ...this.options, header: true }), 'utf8');
    callback();
  }
}

export function batchedCsvEncoder(columns: readonly string[]): Encoder {
  return {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    createStream: () =>
      new BatchedStringifier({
        columns: [...columns],
        record_delimiter: 'unix',
        quote_record_delimiter: true,
        cast: { string: neutralizeFormula },
      }),
  };
}
