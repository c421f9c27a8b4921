import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { describeNetns } from "../support/netns.js";
import type { BenchRow, Verdict } from "./harness.js";
import { verdict } from "./harness.js";

const execFileAsync = promisify(execFile);

/** Rows each module must produce (quick mode has the same rows as a full run, at smoke sizes). */
const EXPECTED_ROWS: Record<string, number> = {
  "api.bench.ts": 4,
  "cli.bench.ts": 3,
  "enroll.bench.ts": 5,
  "memory.bench.ts": 1,
  "queue.bench.ts": 2,
  "wireguard.bench.ts": 9,
};

type ResultRow = BenchRow & { module: string; verdict: Verdict };

describeNetns("npm run bench -- --quick", () => {
  let dir = "";
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("runs every module and writes one table and its JSON, every row with its baseline from the same rounds", async () => {
    dir = await mkdtemp(join(tmpdir(), "wiresync-bench-test-"));
    const out = join(dir, "results.json");
    const { stdout } = await execFileAsync(
      process.execPath,
      ["--import", "tsx", "test/bench/run.ts", "--quick", `--out=${out}`, ...Object.keys(EXPECTED_ROWS)],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const results = JSON.parse(await readFile(out, "utf8")) as {
      machine: { cpus: number; node: string; loadBefore: number[]; loadAfter: number[]; quick: boolean };
      modules: { module: string; error: string | null }[];
      rows: ResultRow[];
    };
    expect(results.machine).toMatchObject({ cpus: cpus().length, node: process.version, quick: true });
    expect(results.machine.loadBefore).toHaveLength(3);
    expect(results.machine.loadAfter).toHaveLength(3);
    expect(results.modules).toEqual(
      Object.keys(EXPECTED_ROWS).map((module) => ({ module, error: null, seconds: expect.any(Number) })),
    );
    for (const [module, count] of Object.entries(EXPECTED_ROWS)) {
      expect(
        results.rows.filter((r) => r.module === module),
        module,
      ).toHaveLength(count);
    }
    for (const r of results.rows) {
      expect(Number.isFinite(r.ours), r.name).toBe(true);
      expect(r.verdict, r.name).toBe(verdict(r));
      expect(stdout).toContain(r.name);
      if (r.baselineName !== null) {
        expect(r.rounds, r.name).toBeGreaterThanOrEqual(5);
        expect(Number.isFinite(r.baseline) && Number.isFinite(r.ratio), r.name).toBe(true);
      }
    }
    // The correctness checks among the rows hold at any size and load: no write without drift,
    // exactly one per change, the live session untouched, a burst coalesced.
    const checks = results.rows.filter((r) => /writes|write\b|session survived/.test(r.name));
    expect(checks.map((r) => r.name)).toHaveLength(4);
    for (const r of checks) expect(r.verdict, `${r.name}: ${r.ours}`).toBe("PASS");
    expect(stdout).toContain(`results written to ${out}`);
  }, 600_000);
});
