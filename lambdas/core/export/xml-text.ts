/**
 * XML 1.0 text content, escaped by hand: the export writes a fixed element structure and only needs its
 * text escaped, which a regular expression does far faster than building a document tree.
 *
 * - `&`, `<`, `>` become entities; a carriage return becomes `&#13;` (a parser would turn a literal one
 *   into a line feed).
 * - Characters XML 1.0 forbids (C0 controls other than tab, line feed and carriage return; U+FFFE and
 *   U+FFFF; unpaired surrogates) cannot appear even as references: each becomes U+FFFD, the Unicode
 *   replacement character.
 */
const SPECIAL =
  /[&<>\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const REPLACEMENTS: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

const replace = (char: string): string => REPLACEMENTS[char] ?? '\ufffd';

/** Text that may stand between tags. */
export function xmlText(text: string): string {
  SPECIAL.lastIndex = 0;
  return SPECIAL.test(text) ? text.replace(SPECIAL, replace) : text;
}
