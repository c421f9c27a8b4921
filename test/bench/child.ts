/**
 * Runs one benchmark module in this process (run.ts starts one process per module, so one's memory,
 * interfaces and connections never disturb the next) and writes its rows as JSON to a file.
 *
 *   node --expose-gc --import tsx test/bench/child.ts <module.bench.ts> <rows.json> [--quick]
 */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { BenchOptions } from "./harness.js";
import { normaliseRow } from "./harness.js";

const [file, out, ...flags] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write("usage: child.ts <module.bench.ts> <rows.json> [--quick]\n");
  process.exit(2);
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
const rows = (await entry(options)).map((r) => normaliseRow(r as Record<string, unknown>));
await writeFile(out, JSON.stringify(rows));
// Benchmarks close what they open; a handle left behind must not keep the run waiting.
process.exit(0);
