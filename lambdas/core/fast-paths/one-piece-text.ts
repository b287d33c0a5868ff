/**
 * Fast path: a V8 string stored as one piece.
 *
 * Why: text joined with `+` is, in V8, a tree of the joined pieces (a "cons string"), and turning a
 * batch's text into bytes walks every piece of it, again for each row that repeats it. Running a
 * regular expression over a text makes V8 flatten it, once, in place. The CSV encoder does it to a
 * group's text the first time a row repeats it (see CsvRowEncoder).
 * Measured gain: with the column groups and the remembered group texts, CSV encoding plus conversion
 * to bytes 12% faster and the whole export 3% (docs/benchmarks.md, "CSV groups of columns"). It changes
 * no text, only how V8 holds it.
 */

/** Any regular expression flattens its subject; this one matches at once. */
const ANY_TEXT = /^/;

/** Makes V8 store `text` as one piece (the text itself is unchanged). */
export function storeAsOnePiece(text: string): void {
  ANY_TEXT.test(text);
}
