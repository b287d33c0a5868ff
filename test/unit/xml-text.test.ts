/** XML 1.0 text content (lambdas/core/export/xml-text.ts): every character kept, escaped or replaced as XML allows. */
import { XMLParser } from 'fast-xml-parser';
import { xmlText } from '../../lambdas/core/export/xml-text';

/** The text a parser reads back from `<v>` holding the escaped text. */
const parsedBack = (text: string): string =>
  String(
    new XMLParser({ parseTagValue: false, trimValues: false, htmlEntities: true }).parse(`<v>${xmlText(text)}</v>`).v ??
      '',
  );

describe('xmlText', () => {
  it('escapes each markup character and a carriage return, however many', () => {
    expect(xmlText('&&<<>>\r\r')).toBe('&amp;&amp;&lt;&lt;&gt;&gt;&#13;&#13;');
    expect(xmlText('a&b')).toBe('a&amp;b');
  });

  it('replaces every control character XML 1.0 forbids, and keeps tab and line feed', () => {
    for (let code = 0; code < 0x20; code++) {
      const char = String.fromCharCode(code);
      const expected = char === '\t' || char === '\n' ? char : char === '\r' ? '&#13;' : '\ufffd';
      expect([code, xmlText(`x${char}y`)]).toEqual([code, `x${expected}y`]);
    }
    expect(xmlText('\u007f \u0085 \u00a0')).toBe('\u007f \u0085 \u00a0');
  });

  it('replaces U+FFFE and U+FFFF and keeps the characters around them', () => {
    expect(xmlText('\ufffd\ufffe\uffff\ufffc')).toBe('\ufffd\ufffd\ufffd\ufffc');
  });

  it('keeps surrogate pairs and replaces each unpaired surrogate', () => {
    expect(xmlText('🎉')).toBe('🎉');
    expect(xmlText('a\ud800')).toBe('a\ufffd');
    expect(xmlText('\ud800a')).toBe('\ufffda');
    expect(xmlText('\udc00a')).toBe('\ufffda');
    expect(xmlText('a\udc00')).toBe('a\ufffd');
    expect(xmlText('\udc00\ud800')).toBe('\ufffd\ufffd');
    expect(xmlText('\ud800\ud800\udc00')).toBe('\ufffd\ud800\udc00');
    // The first and last high and low surrogates, paired and unpaired.
    expect(xmlText('\ud800\udc00 \udbff\udfff \ud800\udfff \udbff\udc00')).toBe(
      '\ud800\udc00 \udbff\udfff \ud800\udfff \udbff\udc00',
    );
    expect(xmlText('\udbff \udfff \udbffa a\udfff')).toBe('\ufffd \ufffd \ufffda a\ufffd');
  });

  it('gives the same text whatever came before (its pattern keeps no state between calls)', () => {
    expect(xmlText('0123456789&')).toBe('0123456789&amp;');
    expect(xmlText('&')).toBe('&amp;');
    expect(xmlText('plain')).toBe('plain');
    expect(xmlText('ab<')).toBe('ab&lt;');
  });

  it('reads back as the text sent, apart from the replaced characters', () => {
    expect(parsedBack('a < b & c > d\r\n\ttab 🎉')).toBe('a < b & c > d\r\n\ttab 🎉');
  });
});
