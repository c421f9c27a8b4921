/**
 * CSV (RFC 4180) of plain rows: a header line of the column names, then one line per row, CRLF line
 * ends. A field holding a comma, quote or line break is quoted; null and undefined are empty. In the
 * `freeText` columns (what a user typed: names, emails), text that a spreadsheet would run as a formula
 * (starting with `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`, so opening an export
 * never runs it. Every other column (keys, ids, numbers, dates) is written exactly as it is: a base64
 * WireGuard key may start with `+`, and a prefix would corrupt it.
 */
export function toCsv<Row extends Record<string, unknown>>(
  columns: readonly (keyof Row & string)[],
  rows: readonly Row[],
  freeText: readonly (keyof Row & string)[] = [],
): string {
  const lines = [columns.join(",")];
  for (const row of rows) lines.push(columns.map((c) => field(row[c], freeText.includes(c))).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function field(value: unknown, isFreeText: boolean): string {
  if (value === null || value === undefined) return "";
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (isFreeText && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
