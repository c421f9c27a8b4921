/**
 * `npm run bench`: every benchmark in turn, each in its own process (so one's memory and interfaces
 * never disturb the next). Knobs pass through the environment (see test/bench/README.md).
 */
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const benches = readdirSync("test/bench")
  .filter((f) => f.endsWith(".bench.ts"))
  .sort();
let failed = 0;
for (const bench of benches) {
  process.stdout.write(`\n=== ${bench}\n`);
  const result = spawnSync(process.execPath, ["--import", "tsx", `test/bench/${bench}`], {
    stdio: "inherit",
  });
  if (result.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
