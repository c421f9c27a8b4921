/**
 * The CLI as an operator types it: one `wiresync` call, from process start to exit, against a local
 * API (`api-server.ts`, its own process). Each call is a cold start, so start-up is most of it.
 *
 * - `wiresync networks` (the single-file build, run from a folder without node_modules) vs
 *   `node -e` doing one fetch of the same route with the same key and printing the body: the least
 *   any Node program answering that question does;
 * - `wiresync nodes --network NAME` (finds the network by name, then lists its nodes) vs `node -e`
 *   doing the same two fetches one after the other;
 * - the single-file build vs the same command run from sources through tsx (`npm run cli`).
 *
 *   npm run bench -- cli                (Postgres, Redis)
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildBundles } from "../../apps/bundles/build.js";
import { childEnv, TEST_REDIS_URL } from "../support/env.js";
import { startServers } from "./api.bench.js";
import type { BenchOptions, BenchRow } from "./harness.js";
import { elapsedMs, interleave, pairedRow } from "./harness.js";
import { openWorld } from "./lab.js";

const execFileAsync = promisify(execFile);
const NODES = 20;

/** `node -e` fetching each of `paths` in turn with the API key and printing each body. */
const fetchScript = (paths: readonly string[]) =>
  `for (const p of ${JSON.stringify(paths)}) {
     const res = await fetch(process.env.WIRESYNC_URL + p, { headers: { "X-API-Key": process.env.WIRESYNC_API_KEY } });
     if (!res.ok) throw new Error(p + ": " + res.status);
     process.stdout.write(await res.text());
   }`;

export async function rows(options: BenchOptions): Promise<BenchRow[]> {
  const ROUNDS = options.quick ? 5 : 15;
  const world = await openWorld({ interfaces: async () => [], minApplyIntervalMs: 0 });
  const servers = await startServers({
    dbUrl: world.dbUrl,
    redisUrl: TEST_REDIS_URL,
    prefix: world.prefix,
    adminKey: world.adminKey,
  });
  const scratch = await mkdtemp(join(tmpdir(), "wiresync-bench-cli-"));
  const out: BenchRow[] = [];
  try {
    const url = `http://127.0.0.1:${servers.ours}`;
    const env = childEnv({ WIRESYNC_URL: url, WIRESYNC_API_KEY: world.adminKey, NODE_OPTIONS: undefined });
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { "x-api-key": world.adminKey, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { data: { id: string } }).data;
    };
    const network = await post("/api/v1/networks", { name: "bench", cidr4: "10.41.0.0/24" });
    for (let i = 0; i < NODES; i++) await post("/api/v1/nodes", { networkId: network.id, name: `n-${i}` });

    options.log("building the single-file CLI");
    const [bundle] = (await buildBundles(scratch)).filter((b) => b.name === "wiresync");
    // Each side runs and must answer correctly: a fast failure is no result.
    const run = async (file: string, args: string[], cwd: string, expect: (stdout: string) => boolean) =>
      elapsedMs(async () => {
        const { stdout } = await execFileAsync(file, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });
        if (!expect(stdout)) throw new Error(`${args.join(" ")}: unexpected output ${stdout.slice(0, 300)}`);
      });
    const listsNetwork = (stdout: string) => stdout.includes(network.id);
    const listsNodes = (stdout: string) =>
      stdout.split("\n").filter((l) => /\bn-\d+\b/.test(l)).length === NODES;
    const node = process.execPath;
    const compare = async (
      fields: { name: string; baselineName: string; target: number; note: string },
      ours: () => Promise<number>,
      base: () => Promise<number>,
    ) => {
      options.log(fields.name);
      await ours();
      await base();
      const paired = await interleave(ROUNDS, { ours, base });
      out.push(
        pairedRow(
          {
            name: fields.name,
            unit: "ms",
            baselineName: fields.baselineName,
            target: { of: "ratio", compare: "<=", value: fields.target },
            note: fields.note,
          },
          paired,
        ),
      );
    };

    await compare(
      {
        name: "wiresync networks (single file, cold start)",
        baselineName: "node -e: one fetch of the route",
        target: 2,
        note: "process start to exit, table output; the baseline prints the raw JSON",
      },
      () => run(node, [bundle!.file, "networks"], scratch, listsNetwork),
      () => run(node, ["-e", fetchScript(["/api/v1/networks"])], scratch, listsNetwork),
    );
    await compare(
      {
        name: `wiresync nodes --network NAME (${NODES} nodes, single file)`,
        baselineName: "node -e: the same two fetches",
        target: 2,
        note: "the network found by name, then its nodes listed",
      },
      () => run(node, [bundle!.file, "nodes", "--network", "bench"], scratch, listsNodes),
      () =>
        run(
          node,
          ["-e", fetchScript(["/api/v1/networks", `/api/v1/nodes?networkId=${network.id}&limit=500`])],
          scratch,
          (stdout) => (stdout.match(/"name":"n-\d+"/g) ?? []).length === NODES,
        ),
    );
    await compare(
      {
        name: "wiresync networks: single file vs from sources",
        baselineName: "node --import tsx apps/cli/main.ts (npm run cli)",
        target: 0.5,
        note: "what the single-file build saves over running the CLI from a checkout",
      },
      () => run(node, [bundle!.file, "networks"], scratch, listsNetwork),
      () => run(node, ["--import", "tsx", "apps/cli/main.ts", "networks"], process.cwd(), listsNetwork),
    );
    return out;
  } finally {
    const exited = new Promise((r) => servers.child.once("exit", r));
    servers.child.kill("SIGTERM");
    const stuck = setTimeout(() => servers.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(stuck);
    await world.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
