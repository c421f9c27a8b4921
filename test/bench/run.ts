/**
 * `npm run bench`: every benchmark module (`test/bench/*.bench.ts` exporting `rows()` or `run()`), each
 * in its own process, then ONE table: ours (median), the baseline (median, measured in the same run,
 * rounds interleaved), the median of the per-round ratios, the target and PASS/FAIL. The same goes
 * to a JSON file with the machine it ran on (CPUs, load average before and after, Node).
 *
 *   npm run bench                       every module, full size
 *   npm run bench -- --quick            CI-sized smoke (BENCH_QUICK=1 does the same)
 *   npm run bench -- wireguard queue    only modules whose file name contains one of the words
 *   npm run bench -- --strict           exit 1 when a row fails its target (default: exit 0)
 *   npm run bench -- --out=path.json    where the JSON goes (default bench-results.json)
 *
 * A module that crashes exits the run with 2 after the table (its rows are missing, not failed).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import type { BenchRow } from "./harness.js";
import { describeTarget, verdict } from "./harness.js";

const args = process.argv.slice(2);
// biome-ignore lint/style/noProcessEnv: the benchmark's one switch from the environment
const quick = args.includes("--quick") || process.env.BENCH_QUICK === "1";
const strict = args.includes("--strict");
const outPath = resolve(
  args.find((a) => a.startsWith("--out="))?.slice("--out=".length) ?? "bench-results.json",
);
const only = args.filter((a) => !a.startsWith("--"));
const benchDir = "test/bench";

const modules = readdirSync(benchDir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((w) => f.includes(w)))
  .sort();

const load = () => loadavg().map((x) => Number(x.toFixed(2)));
const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? "unknown",
  memoryGb: Number((totalmem() / 1024 ** 3).toFixed(1)),
  node: process.version,
  kernel: release(),
  loadBefore: load(),
  loadAfter: [] as number[],
  quick,
  startedAt: new Date().toISOString(),
  finishedAt: "",
};

const scratch = mkdtempSync(join(tmpdir(), "wiresync-bench-rows-"));
const results: { module: string; rows: BenchRow[]; error: string | null; seconds: number }[] = [];
try {
  for (const module of modules) {
    process.stderr.write(`\n=== ${module}${quick ? " (quick)" : ""}\n`);
    const rowsFile = join(scratch, `${module}.json`);
    const t0 = performance.now();
    const child = spawnSync(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        join(benchDir, "child.ts"),
        join(benchDir, module),
        rowsFile,
        ...(quick ? ["--quick"] : []),
      ],
      { stdio: ["ignore", "inherit", "inherit"] },
    );
    const seconds = Number(((performance.now() - t0) / 1000).toFixed(1));
    if (child.status === 0) {
      results.push({ module, rows: JSON.parse(readFileSync(rowsFile, "utf8")), error: null, seconds });
    } else {
      results.push({ module, rows: [], error: `exited with ${child.status ?? child.signal}`, seconds });
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
machine.loadAfter = load();
machine.finishedAt = new Date().toISOString();

const fmt = (x: number | null, unit = "") => {
  if (x === null) return "—";
  if (!Number.isFinite(x) || Number.isInteger(x)) return unit ? `${x} ${unit}` : String(x);
  const abs = Math.abs(x);
  const text = abs >= 100 ? x.toFixed(0) : abs >= 10 ? x.toFixed(1) : abs >= 1 ? x.toFixed(2) : x.toFixed(3);
  return unit ? `${text} ${unit}` : text;
};
const table = results.flatMap(({ module, rows }) =>
  rows.map((row) => ({ module, row, verdict: verdict(row) })),
);
const header = [
  "row",
  "ours (median)",
  "baseline (median)",
  "ratio (median of rounds)",
  "target",
  "rounds",
  "",
];
const lines = table.map(({ row, verdict: v }) => [
  row.name,
  fmt(row.ours, row.unit),
  row.baselineName === null ? "—" : `${fmt(row.baseline, row.unit)} ${row.baselineName}`,
  row.ratio === null ? "—" : `${fmt(row.ratio)}×`,
  describeTarget(row),
  String(row.rounds),
  v,
]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const print = (cells: string[]) =>
  console.log(
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join(" │ ")
      .trimEnd(),
  );
console.log(
  `\nwiresync benchmarks${quick ? " (QUICK: smoke sizes, ratios not meaningful)" : ""}: ${machine.cpus} CPUs (${machine.cpuModel}), ` +
    `${machine.memoryGb} GB, Node ${machine.node}, load average ${machine.loadBefore.join(" ")} before, ${machine.loadAfter.join(" ")} after`,
);
print(header);
console.log(widths.map((w) => "─".repeat(w)).join("─┼─"));
for (const l of lines) print(l);
const notes = table.filter(({ row }) => row.note);
if (notes.length > 0) {
  console.log("\nnotes:");
  for (const { row } of notes) console.log(`  ${row.name}: ${row.note}`);
}
for (const r of results) {
  if (r.error) console.log(`\n${r.module}: ${r.error} — its rows are missing`);
}
const failed = table.filter((t) => t.verdict === "FAIL").length;
console.log(
  `\n${table.length - failed} of ${table.length} rows pass, ${failed} fail; module times: ${results.map((r) => `${r.module} ${r.seconds} s`).join(", ")}`,
);
writeFileSync(
  outPath,
  `${JSON.stringify(
    {
      machine,
      modules: results.map(({ module, error, seconds }) => ({ module, error, seconds })),
      rows: table.map(({ module, row, verdict: v }) => ({ module, ...row, verdict: v })),
    },
    null,
    2,
  )}\n`,
);
console.log(`results written to ${outPath}`);
process.exit(results.some((r) => r.error) ? 2 : strict && failed > 0 ? 1 : 0);
