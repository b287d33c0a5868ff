/**
 * CSV encoding for warehouses and spreadsheets alike: RFC 4180 quoting and UTF-8 by csv-stringify,
 * empty cells for null, and text that a spreadsheet would run as a formula neutralized.
 */
import { stringify, type Stringifier } from 'csv-stringify';
import type { Encoder } from './pipeline';

/** Characters that make Excel, Sheets or LibreOffice evaluate a cell (OWASP CSV injection). */
const FORMULA_TRIGGERS = new Set(['=', '+', '-', '@', '\t', '\r']);

/** Prefixing a quote makes spreadsheets show the text as typed instead of evaluating it. */
export function neutralizeFormula(text: string): string {
  return text.length > 0 && FORMULA_TRIGGERS.has(text[0]) ? `'${text}` : text;
}

export function csvEncoder(columns: readonly string[]): Encoder {
  return {
    contentType: 'text/csv; charset=utf-8',
    extension: 'csv',
    createStream(): Stringifier {
      return stringify({
        header: true,
        columns: [...columns],
        record_delimiter: 'unix',
        // A lone carriage return inside a cell must be quoted too, or RFC 4180 readers split the row.
        quote_record_delimiter: true,
        cast: { string: neutralizeFormula },
      });
    },
  };
}
