/**
 * Performance: revision lines (`revisionLine`) written with the property names of the previous
 * record's shape kept sorted and quoted. Reason: a raw log's records mostly share a handful of
 * shapes, and sorting and quoting the names again for every line was about half of `revisionLine`'s
 * time (1.2 s of a 1 M-record run's 7 s). A record whose keys (in their order) differ from the
 * previous one's sorts them again. Measured gain, 1 M records: line writing 1.2 s + 0.49 s of sort
 * callbacks -> 0.55 s + 0.25 s of CPU (docs/raw-revisions.md, "Benchmark").
 * test/unit/revision-line-writer.test.ts checks the lines against `revisionLine`.
 */
import { RESERVED_FIELDS, revisionLineStart } from './revision-lines';
import type { RawRecord } from '../raw-log';

export class RevisionLineWriter {
  private keys: string[] = [];
  /** The previous shape's names, sorted, without the reserved ones; and each as `,"name":`. */
  private names: string[] = [];
  private prefixes: string[] = [];

  /** The record's revision line, without its newline: the same text as `revisionLine(record)`. */
  line(record: RawRecord): string {
    let line = revisionLineStart(record);
    const attributes = record.attributes ?? {};
    const keys = Object.keys(attributes);
    if (!sameKeys(keys, this.keys)) {
      this.keys = keys;
      this.names = [...keys].sort().filter((name) => !RESERVED_FIELDS.has(name));
      this.prefixes = this.names.map((name) => `,${JSON.stringify(name)}:`);
    }
    for (let i = 0; i < this.names.length; i++) line += this.prefixes[i] + JSON.stringify(attributes[this.names[i]]);
    return line + '}';
  }
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
