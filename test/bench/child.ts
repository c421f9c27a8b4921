/**
 * Runs one benchmark module in this process (run.ts starts one process per module, so one's memory,
 * interfaces and connections never disturb the next) and writes its rows as JSON to a file.
 *
 *   node --expose-gc --import tsx test/bench/child.ts <module.bench.ts> <rows.json> [--quick]
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchOptions, BenchRow, Target } from "./harness.js";

const [file, out, ...flags] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write("usage: child.ts <module.bench.ts> <rows.json> [--quick]\n");
  process.exit(2);
}

/** A target written as text by a module (`≤ 1.5×`, `>= 0.8x`, `= 0`), or already structured. */
function parseTarget(raw: unknown): Target {
  if (raw && typeof raw === "object") return raw as Target;
  const text = String(raw ?? "").trim();
  const m = /^(≤|<=|≥|>=|=)\s*([0-9.]+)\s*(×|x)?/.exec(text);
  if (!m)
    throw new Error(
      `unreadable target ${JSON.stringify(raw)}: write it as "≤ 1.5×" or { of, compare, value }`,
    );
  const compare = m[1] === "≤" || m[1] === "<=" ? "<=" : m[1] === "=" ? "=" : ">=";
  return { of: m[3] ? "ratio" : "ours", compare, value: Number(m[2]) };
}

/**
 * Rows as the harness prints them. Modules written against the short shape
 * `{ name, ours, baseline, ratio, unit, target? }` plug in too; a row without a target is refused,
 * since a row that cannot fail says nothing.
 */
function normalise(raw: Record<string, unknown>): BenchRow {
  if (raw.target === undefined) throw new Error(`row ${JSON.stringify(raw.name)} has no target`);
  const baseline = typeof raw.baseline === "number" ? raw.baseline : null;
  return {
    name: String(raw.name),
    unit: String(raw.unit ?? ""),
    ours: Number(raw.ours),
    baselineName:
      typeof raw.baselineName === "string" ? raw.baselineName : baseline === null ? null : "baseline",
    baseline,
    ratio: typeof raw.ratio === "number" ? raw.ratio : null,
    rounds: typeof raw.rounds === "number" ? raw.rounds : 1,
    target: parseTarget(raw.target),
    ...(typeof raw.note === "string" ? { note: raw.note } : {}),
  };
}

const mod = (await import(pathToFileURL(resolve(file)).href)) as {
  rows?: (o: BenchOptions) => Promise<unknown[]>;
  run?: (o: BenchOptions) => Promise<unknown[]>;
};
const entry = mod.rows ?? mod.run;
if (!entry) throw new Error(`${file} exports neither rows() nor run()`);
const options: BenchOptions = {
  quick: flags.includes("--quick"),
  log: (line) => process.stderr.write(`  ${line}\n`),
};
const rows = (await entry(options)).map((r) => normalise(r as Record<string, unknown>));
await writeFile(out, JSON.stringify(rows));
// Benchmarks close what they open; a handle left behind must not keep the run waiting.
process.exit(0);
