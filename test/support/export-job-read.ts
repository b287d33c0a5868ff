/** Export-job files read back for the tests: Parquet by hyparquet (GZIP pages through node:zlib), XML by fast-xml-parser. */
import { gunzipSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
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

/** A well-formed XML file of events or profiles, each `Event`, `Profile` and `entry` as an array, values as text. */
export function xmlFile(text: string) {
  expect(XMLValidator.validate(text)).toBe(true);
  return new XMLParser({
    parseTagValue: false,
    isArray: (name) => ['Event', 'Profile', 'entry'].includes(name),
  }).parse(text);
}

/** An XML map (`deviceInfo`, `eventProps`, `profileProps`): '' when empty. */
export type XmlEntries = { entry?: { key: string; value: string }[] } | '';

/** The key-value pairs of an XML map. */
export const xmlEntries = (map: XmlEntries): Record<string, string> =>
  Object.fromEntries((map === '' ? [] : (map.entry ?? [])).map((entry) => [entry.key, entry.value]));
