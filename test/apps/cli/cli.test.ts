import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { adminSql, databaseUrl } from "../../support/db.js";
import { childEnv } from "../../support/env.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

const run = promisify(execFile);

function cli(args: string[], env: Record<string, string | undefined>) {
  return run(process.execPath, ["--import", "tsx", "apps/cli/main.ts", ...args], {
    env: childEnv({ LOG_LEVEL: "silent", ...env }),
    timeout: 60_000,
  });
}

/** `cli` with `input` on stdin (a password, never an argument). */
function cliWithInput(args: string[], env: Record<string, string | undefined>, input: string) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", "apps/cli/main.ts", ...args],
      { env: childEnv({ LOG_LEVEL: "silent", ...env }), timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

describe("wiresync CLI", () => {
  let t: TestPlatform;
  let server: RunningServer;
  beforeAll(async () => {
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  });
  afterAll(async () => {
    await server.close();
    await t.close();
  });

  const api = () => ({ WIRESYNC_URL: `http://127.0.0.1:${server.port}`, WIRESYNC_API_KEY: t.adminKey });

  it("lists networks and nodes and prints a node's config", async () => {
    const net = await createNetwork(t, { name: "cli-net" });
    const node = await createNode(t, net.id, { name: "cli-node", email: "cli@example.com" });
    const networks = JSON.parse((await cli(["networks", "--json"], api())).stdout);
    expect(networks.map((n: { name: string }) => n.name)).toContain("cli-net");
    const nodes = JSON.parse((await cli(["nodes", "--network", net.id, "--json"], api())).stdout);
    expect(nodes[0]).toMatchObject({ name: "cli-node", email: "cli@example.com" });
    const config = (await cli(["config", node.node.id], api())).stdout;
    expect(config).toContain("[Interface]");
  });

  it("deletes the nodes of an email", async () => {
    const net = await createNetwork(t);
    await createNode(t, net.id, { email: "gone@example.com" });
    const out = JSON.parse((await cli(["delete-email", "gone@example.com", "--json"], api())).stdout);
    expect(out.deleted).toBe(1);
  });

  it("explains a wrong key and exits 1", async () => {
    const err = await cli(["networks"], { ...api(), WIRESYNC_API_KEY: "wsk_wrong" }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/401/);
  });

  it("creates the first user, an admin, with the bootstrap key and a password from stdin", async () => {
    const out = await cliWithInput(
      ["create-user", "root@example.com", "--name", "Root", "--json"],
      api(),
      "a long enough password\n",
    );
    expect(JSON.parse(out.stdout)).toMatchObject({ email: "root@example.com", name: "Root", role: "admin" });
    const login = await t.request("/api/auth/login", {
      method: "POST",
      body: { email: "root@example.com", password: "a long enough password" },
      key: null,
    });
    expect(login.status).toBe(200);
    const refused = await cliWithInput(
      ["create-user", "anon@example.com"],
      { ...api(), WIRESYNC_API_KEY: undefined },
      "a long enough password\n",
    ).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toMatch(/set WIRESYNC_API_KEY/);
  });

  it("applies migrations to an empty database", async () => {
    const name = `wiresync_t_${Math.floor(Date.now() / 1000)}_cli${process.pid}`;
    await adminSql(`create database "${name}"`);
    try {
      const out = await cli(["migrate"], { DATABASE_URL: databaseUrl(name) });
      expect(out.stdout).toContain("migrations applied (postgres)");
    } finally {
      await adminSql(`drop database if exists "${name}" with (force)`);
    }
  });
});
