/**
 * Fast path: a revision line straight from a raw log line's text, without parsing the record.
 *
 * Why: parsing every record (the whole line: its id, environment and context included) was most of a
 * revisions run's time, and a revision line needs only the head fields and the top-level attributes.
 * The log's lines are JSON.stringify's text (encodeRawRecord: fixed field order, no spaces), and a
 * scalar JSON.stringify wrote reads back and is written again as the same text, so scalars are copied
 * as they are; nested attribute values (rare) are parsed and written again. Any other text (another
 * field order, spaces, an escape or number JSON.stringify would not write, a name twice) gives
 * undefined, and the caller parses the line (decodeRawRecord, revisionLine), which also names a
 * broken line.
 * Measured gain (100,000 bench records, 39 MB of log text, this machine, 2026-12-07): parse and encode
 * 0.9-1.2 s, this 0.3-0.4 s; the whole run about twice as fast (docs/raw-revisions.md, "Benchmark").
 * test/unit/fast-paths.test.ts proves it equal to revisionLine of the parsed record (property tests).
 */
import { RESERVED_FIELDS } from '../export/revision-lines';

/**
 * A JSON string as JSON.stringify writes it: only its own escapes (lowercase hex, lone surrogates
 * escaped, pairs not), written as the unrolled loop `"plain*(special plain*)*"` so it never backtracks.
 */
const STRING =
  /"[^"\\\u0000-\u001f\ud800-\udfff]*(?:(?:[\ud800-\udbff][\udc00-\udfff]|\\["\\bfnrt]|\\u00(?:0[0-7bef]|1[0-9a-f])|\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|\\ud[c-f][0-9a-f]{2})[^"\\\u0000-\u001f\ud800-\udfff]*)*"/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:e[+-]\d+)?/y;
const TYPE = /"(?:event|user|company|feedback|alias)"/y;
const LITERALS = ['true', 'false', 'null'];

/** Turns log lines into revision lines; reuses its buffers from line to line. */
export class RevisionLineTranscoder {
  /** `_t` (unix seconds) of the last line transcoded. */
  seconds = 0;
  private text = '';
  private at = 0;
  /** The attributes of the line, kept sorted by name as they are read: names and `"name":value`. */
  private readonly names: string[] = [];
  private readonly members: string[] = [];

  /** The revision line (without its newline) of a log line (without its newline), or undefined. */
  line(text: string): string | undefined {
    this.text = text;
    this.at = 0;
    if (!this.skip('{"id":') || this.string() === undefined) return undefined;
    if (!this.skip(',"environmentId":') || this.string() === undefined) return undefined;
    if (!this.skip(',"receivedAt":')) return undefined;
    const receivedAt = this.number();
    if (receivedAt === undefined || !this.skip(',"type":')) return undefined;
    const type = this.type();
    const userId = this.optionalString(',"userId":');
    const companyId = this.optionalString(',"companyId":');
    const event = this.optionalString(',"event":');
    if (type === undefined || userId === undefined || companyId === undefined || event === undefined) return undefined;
    let timestamp: number | null | undefined = null;
    if (this.skip(',"timestamp":')) timestamp = this.number();
    if (timestamp === undefined) return undefined;
    let count = 0;
    if (this.skip(',"attributes":')) {
      count = this.attributes();
      if (count < 0) return undefined;
    }
    if (this.skip(',"context":') && !this.value()) return undefined;
    const alias = this.optionalString(',"alias":');
    if (alias === undefined || this.at !== text.length - 1 || text.charCodeAt(this.at) !== 0x7d) return undefined;

    this.seconds = Math.floor((timestamp ?? receivedAt) / 1000);
    let line = userId !== null ? `{"_p":${userId},` : companyId !== null ? `{"_p":"company:${companyId.slice(1)},` : '{';
    if (type === 'alias' && alias !== null) line += `"_p2":${alias},`;
    line += `"_t":${this.seconds}`;
    if ((type === 'event' || type === 'feedback') && event !== null) line += `,"_n":${event}`;
    for (let i = 0; i < count; i++) line += `,${this.members[i]}`;
    return line + '}';
  }

  /** The top-level attributes, sorted into names/members; their count, or -1. */
  private attributes(): number {
    if (!this.skip('{')) return -1;
    if (this.skip('}')) return 0;
    let count = 0;
    do {
      const key = this.string();
      if (key === undefined || !this.skip(':')) return -1;
      const start = this.at;
      const first = this.text.charCodeAt(start);
      if (!this.value()) return -1;
      let value = this.text.slice(start, this.at);
      // `{` or `[`: parsed and written again, as its own names' order and spelling may change.
      if (first === 0x7b || first === 0x5b) value = JSON.stringify(JSON.parse(value));
      const name = key.includes('\\') ? (JSON.parse(key) as string) : key.slice(1, -1);
      if (!RESERVED_FIELDS.has(name)) {
        let i = count++;
        while (i > 0 && this.names[i - 1] > name) {
          this.names[i] = this.names[i - 1];
          this.members[i] = this.members[i - 1];
          i--;
        }
        // A name given twice: JSON.parse keeps the last value; left to the parsed path.
        if (i > 0 && this.names[i - 1] === name) return -1;
        this.names[i] = name;
        this.members[i] = `${key}:${value}`;
      }
    } while (this.skip(','));
    return this.skip('}') ? count : -1;
  }

  /** Moves past `expected` if the text goes on with it. */
  private skip(expected: string): boolean {
    if (!this.text.startsWith(expected, this.at)) return false;
    this.at += expected.length;
    return true;
  }

  private matched(pattern: RegExp): string | undefined {
    pattern.lastIndex = this.at;
    const match = pattern.exec(this.text);
    if (match === null) return undefined;
    this.at = pattern.lastIndex;
    return match[0];
  }

  /** A string's JSON text, quotes included. */
  private string(): string | undefined {
    return this.matched(STRING);
  }

  /** null when the field is absent, undefined when its value is not a string as JSON.stringify writes it. */
  private optionalString(field: string): string | null | undefined {
    return this.skip(field) ? this.string() : null;
  }

  /** A number written as JSON.stringify writes it (so the text is the number's own). */
  private number(): number | undefined {
    const text = this.matched(NUMBER);
    if (text === undefined) return undefined;
    const value = Number(text);
    return String(value) === text ? value : undefined;
  }

  private type(): string | undefined {
    return this.matched(TYPE)?.slice(1, -1);
  }

  /** Moves past one JSON value; false if there is none, as JSON.stringify writes it, here. */
  private value(): boolean {
    const c = this.text.charCodeAt(this.at);
    if (c === 0x22) return this.string() !== undefined;
    if (c === 0x7b) return this.container('}', true);
    if (c === 0x5b) return this.container(']', false);
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number() !== undefined;
    return LITERALS.some((literal) => this.skip(literal));
  }

  /** An object's or array's members, the opening bracket at `at`. */
  private container(close: string, named: boolean): boolean {
    this.at++;
    if (this.skip(close)) return true;
    do {
      if (named && (this.string() === undefined || !this.skip(':'))) return false;
      if (!this.value()) return false;
    } while (this.skip(','));
    return this.skip(close);
  }
}
