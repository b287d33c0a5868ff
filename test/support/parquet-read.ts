/** Parquet files read back by hyparquet (GZIP pages through node:zlib), for the export-job tests. */
import { gunzipSync } from 'node:zlib';
import { parquetMetadata, parquetReadObjects, type FileMetaData } from 'hyparquet';

const arrayBufferOf = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

/** The file's rows, one object per row by column name. */
export function parquetRows(bytes: Uint8Array): Promise<Record<string, unknown>[]> {
  // hyparquet reads GZIP pages with the decompressor it is given.
  return parquetReadObjects({ file: arrayBufferOf(bytes), compressors: { GZIP: (input) => gunzipSync(input) } });
}

export const parquetFileMetadata = (bytes: Uint8Array): FileMetaData => parquetMetadata(arrayBufferOf(bytes));

/** Each column's physical type, by name. */
export function parquetTypes(bytes: Uint8Array): Record<string, string | undefined> {
  const { schema } = parquetFileMetadata(bytes);
  return Object.fromEntries(schema.slice(1).map((element) => [element.name, element.type]));
}
