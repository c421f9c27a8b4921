/**
 * CSV (RFC 4180) of plain rows: a header line of the column names, then one line per row, CRLF line
 * ends. A field holding a comma, quote or line break is quoted; null and undefined are empty. Text
 * that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
 * return; an email may) is prefixed with `'`, so opening an export never runs what a user typed.
 */
export function toCsv<Row extends Record<string, unknown>>(
  columns: readonly (keyof Row & string)[],
  rows: readonly Row[],
): string {
  const lines = [columns.join(",")];
  for (const row of rows) lines.push(columns.map((c) => field(row[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

function field(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text = value instanceof Date ? value.toISOString() : String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
