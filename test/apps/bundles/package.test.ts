/**
 * The npm package as `npm pack` makes it (its `prepack` builds the single files), unpacked into a
 * folder with no node_modules: what it ships, and that its CLI and agent run from there with plain
 * node, against a real API and a real PostgreSQL.
 */
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { adminSql, databaseUrl } from "../../support/db.js";
import { childEnv } from "../../support/env.js";
import { createNetwork } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

const exec = promisify(execFile);

/** Files under `dir`, relative to it, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe("the npm package (npm pack), unpacked without node_modules", { timeout: 240_000 }, () => {
  let t: TestPlatform;
  let server: RunningServer;
  let scratch: string;
  let pkg: string;
  let packed: { files: { path: string }[] };

  /** Runs `file` with plain node from `scratch` (outside the checkout); never rejects. */
  const run = (file: string, args: string[], env: Record<string, string | undefined>) =>
    exec(process.execPath, [file, ...args], {
      cwd: scratch,
      env: childEnv({ NODE_OPTIONS: undefined, NODE_PATH: undefined, ...env }),
      timeout: 60_000,
    }).then(
      (ok) => ({ code: 0, stdout: ok.stdout, stderr: ok.stderr }),
      (err: { code: number; stdout: string; stderr: string }) => err,
    );
  const api = () => ({ WIRESYNC_URL: `http://127.0.0.1:${server.port}`, WIRESYNC_API_KEY: t.adminKey });

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "wiresync-package-"));
    const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", scratch], {
      env: childEnv({}),
      maxBuffer: 16 * 1024 * 1024,
      timeout: 180_000,
    });
    // npm prints the prepack script's output before the JSON.
    packed = (JSON.parse(stdout.slice(stdout.indexOf("\n[") + 1)) as (typeof packed)[])[0]!;
    const tarball = (await readdir(scratch)).find((f) => f.endsWith(".tgz"))!;
    await exec("tar", ["-xzf", path.join(scratch, tarball), "-C", scratch]);
    pkg = path.join(scratch, "package");
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  }, 240_000);

  afterAll(async () => {
    await server?.close();
    await t?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("ships the three single files, the migrations, the systemd units and nothing else", async () => {
    const migrations = (await filesUnder("drizzle")).map((f) => `drizzle/${f}`);
    expect(migrations.length).toBeGreaterThan(0);
    expect(packed.files.map((f) => f.path).sort()).toEqual(
      [
        "README.md",
        "package.json",
        "dist/wiresync.mjs",
        "dist/wiresync-migrate.mjs",
        "dist/wiresync-agent.mjs",
        "apps/agent/systemd/agent.env.example",
        "apps/agent/systemd/wiresync-agent.service",
        "apps/standalone/systemd/wiresync-api.service",
        "apps/standalone/systemd/wiresync-standalone.service",
        "apps/standalone/systemd/wiresync-worker.service",
        "apps/standalone/systemd/wiresync.env.example",
        ...migrations,
      ].sort(),
    );
    expect(await filesUnder(pkg)).toEqual(packed.files.map((f) => f.path).sort());
    const manifest = JSON.parse(await readFile(path.join(pkg, "package.json"), "utf8"));
    expect(manifest.bin).toEqual({
      wiresync: "dist/wiresync.mjs",
      "wiresync-agent": "dist/wiresync-agent.mjs",
    });
    for (const bin of Object.values(manifest.bin as Record<string, string>)) {
      expect((await readFile(path.join(pkg, bin), "utf8")).split("\n")[0]).toBe("#!/usr/bin/env node");
    }
  });

  it("runs the CLI: lists networks, adds a node and draws its config as a QR code", async () => {
    const net = await createNetwork(t, { name: "packed-net", cidr4: "10.79.0.0/24" });
    const cli = path.join(pkg, "dist/wiresync.mjs");
    const listed = await run(cli, ["networks", "--json"], api());
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).map((n: { id: string; name: string }) => [n.id, n.name])).toEqual([
      [net.id, "packed-net"],
    ]);
    const added = await run(cli, ["add-node", "packed-net", "phone", "--qr"], api());
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toMatch(/[▀▄█]{10}/);
    expect(added.stderr).toMatch(/added phone to packed-net: 10\.79\.0\.2 /);
    const help = await run(cli, ["--help"], {});
    expect(help.stdout).toMatch(/^usage: wiresync <command>/);
  });

  it("answers a command without loading fetch's undici, http2, tls or zlib (most of a call's start-up)", async () => {
    await createNetwork(t, { name: "lean-net", cidr4: "10.78.0.0/24" });
    // Loaded before the CLI: prints the built-in modules the process loaded, as it exits.
    const probe = path.join(scratch, "loaded-modules.mjs");
    await writeFile(
      probe,
      "process.on('exit', () => process.stderr.write(JSON.stringify(process.moduleLoadList)));\n",
    );
    const { stdout, stderr } = await exec(
      process.execPath,
      [
        "--import",
        pathToFileURL(probe).href,
        path.join(pkg, "dist/wiresync.mjs"),
        ...["nodes", "--network", "lean-net", "--json"],
      ],
      {
        cwd: scratch,
        env: childEnv({ NODE_OPTIONS: undefined, NODE_PATH: undefined, ...api() }),
        timeout: 60_000,
      },
    );
    expect(JSON.parse(stdout)).toEqual([]);
    const loaded = JSON.parse(stderr) as string[];
    expect(loaded).toContain("NativeModule http");
    expect(loaded.filter((m) => /undici|http2|tls|zlib/.test(m))).toEqual([]);
  });

  it("migrates a fresh PostgreSQL database with the migrations it ships", async () => {
    const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_pkg${process.pid}`;
    await adminSql(`create database "${name}"`);
    const sql = postgres(databaseUrl(name), { max: 1, onnotice: () => {} });
    try {
      const out = await run(path.join(pkg, "dist/wiresync.mjs"), ["migrate"], {
        DATABASE_URL: databaseUrl(name),
      });
      expect(out.code, out.stderr).toBe(0);
      expect(out.stdout).toBe("migrations applied (postgres)\n");
      const journal = JSON.parse(await readFile(path.join(pkg, "drizzle/meta/_journal.json"), "utf8"));
      const [row] = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
      expect(row!.n).toBe(journal.entries.length);
    } finally {
      await sql.end();
      await adminSql(`drop database if exists "${name}" with (force)`);
    }
  });

  it("copied alone, the CLI file still answers, and refuses migrate naming what it lacks", async () => {
    const alone = path.join(scratch, "alone");
    await mkdir(alone);
    await copyFile(path.join(pkg, "dist/wiresync.mjs"), path.join(alone, "wiresync"));
    const listed = await run(path.join(alone, "wiresync"), ["networks"], api());
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout.split("\n")[0]).toMatch(/^id +name +cidr4 +topology/);
    const migrate = await run(path.join(alone, "wiresync"), ["migrate"], {});
    expect(migrate.code).toBe(1);
    expect(migrate.stderr).toBe(
      "wiresync: migrate, backup and restore need the wiresync package or a checkout (this CLI file was copied without wiresync-migrate.mjs and the migrations)\n",
    );
    const badUrl = await run(path.join(alone, "wiresync"), ["networks"], { WIRESYNC_URL: "ftp://x" });
    expect(badUrl.code).toBe(1);
    expect(badUrl.stderr).toMatch(/^wiresync: WIRESYNC_URL: must be an http\(s\) URL/);
  });

  it("runs the agent file, which names a bad setting and exits 1", async () => {
    const out = await run(path.join(pkg, "dist/wiresync-agent.mjs"), [], {
      WIRESYNC_URL: "not a url",
      AGENT_INTERFACE: "far-too-long-interface-name",
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /^wiresync-agent: invalid configuration:\n {2}WIRESYNC_URL: .*\n {2}AGENT_INTERFACE: /,
    );
  });
});
