/** How the CLI answers: aligned tables and plain lines for people, JSON (`--json`) for scripts. */
import { createInterface } from "node:readline/promises";

/** A value as a table cell: dates and nulls kept short. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.join(",");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** `rows` as a table of `columns` (header, then one line per row), or a line saying there are none. */
export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  if (rows.length === 0) return "(none)\n";
  const cells = rows.map((r) => columns.map((c) => cell(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return `${[line(columns), ...cells.map(line)].join("\n")}\n`;
}

/** One object as `key  value` lines, for `columns` only when given. */
export function record(value: Record<string, unknown>, columns?: readonly string[]): string {
  const keys = columns ?? Object.keys(value);
  const width = Math.max(...keys.map((k) => k.length));
  return `${keys.map((k) => `${k.padEnd(width)}  ${cell(value[k])}`).join("\n")}\n`;
}

/**
 * Asks `question` on the terminal and resolves true only for y/yes. Without a terminal (a script),
 * resolves false: deletes there need `--yes`.
 */
export async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}
