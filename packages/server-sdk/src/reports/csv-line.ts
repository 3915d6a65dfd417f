/** A value of a CSV cell: text, a number, a boolean, or null (an empty cell). */
export type CsvValue = string | number | boolean | null;

// Spreadsheets run a cell that starts with one of these as a formula (OWASP "CSV injection");
// tab and carriage return are on the list because some spreadsheets skip them first.
const FORMULA_START = /^[=+\-@\t\r]/;

function cell(value: CsvValue): string {
  if (value === null) return '';
  if (typeof value !== 'string') return String(value);
  // A leading apostrophe makes spreadsheets show the text as it is instead of evaluating it.
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * Formats one CSV record (RFC 4180: fields with a comma, quote or line break are quoted,
 * quotes doubled; CRLF line end). Text that a spreadsheet would run as a formula (starting
 * with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`; numbers are written as they are,
 * so negative figures are never altered.
 *
 * @param values - the fields, in column order.
 * @returns the record, ending in CRLF.
 * @example
 * ```ts
 * csvLine(['day', 'app']); // 'day,app\r\n'
 * csvLine(['=HYPERLINK("x")', 3]); // '"\'=HYPERLINK(""x"")",3\r\n'
 * ```
 */
export function csvLine(values: readonly CsvValue[]): string {
  return `${values.map(cell).join(',')}\r\n`;
}
