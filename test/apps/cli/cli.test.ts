import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { createAdaptorServer } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningServer } from "../../../apps/api/server.js";
import { listen } from "../../../apps/api/server.js";
import { generateKeyPair } from "../../../src/mesh/index.js";
import { adminSql, databaseUrl } from "../../support/db.js";
import { childEnv } from "../../support/env.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { bundleCli } from "../../support/worker-process.js";

const run = promisify(execFile);

/** The CLI's bundle (`bundleCli`), made once for this file. */
let cliEntry = "";

function cli(args: string[], env: Record<string, string | undefined>) {
  return run(process.execPath, [cliEntry, ...args], {
    env: childEnv({ LOG_LEVEL: "silent", ...env }),
    timeout: 60_000,
  });
}

/** `cli` with `input` on stdin (a password, never an argument). */
function cliWithInput(args: string[], env: Record<string, string | undefined>, input: string) {
  return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [cliEntry, ...args],
      { env: childEnv({ LOG_LEVEL: "silent", ...env }), timeout: 60_000 },
      (err, stdout, stderr) =>
        err ? reject(Object.assign(err, { stdout, stderr })) : resolve({ stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

// Each command is a process of its own (about a second of CPU): a test of several needs more than 30 s on a busy machine.
describe("wiresync CLI", { timeout: 120_000 }, () => {
  let t: TestPlatform;
  let server: RunningServer;
  beforeAll(async () => {
    cliEntry = bundleCli();
    t = await createTestPlatform();
    server = await listen(t.app, 0, "127.0.0.1");
  });
  afterAll(async () => {
    await server.close();
    await t.close();
    rmSync(cliEntry, { force: true });
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

  /** `cli` expected to exit 1; resolves to its stderr. */
  const refused = async (args: string[]) => {
    const err = await cli(args, api()).then(
      (ok) => ({ code: 0, stderr: ok.stderr }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(err.code, err.stderr).toBe(1);
    return err.stderr;
  };
  const nodeNamed = async (name: string) =>
    (await json(await t.request(`/api/v1/nodes?q=${name}`))).data.items.filter(
      (n: { name: string }) => n.name === name,
    );

  it("creates a network and adds nodes to it by name and by id: config printed, to a 0600 file, as a QR code", async () => {
    const made = JSON.parse(
      (await cli(["create-network", "cli-office", "--cidr4", "10.77.0.0/24", "--json"], api())).stdout,
    );
    expect(made).toMatchObject({ name: "cli-office", cidr4: "10.77.0.0/24", topology: "hub" });
    const shown = (
      await cli(["create-network", "cli-mesh", "--cidr4", "10.78.0.0/24", "--topology", "mesh"], api())
    ).stdout;
    expect(shown).toMatch(/^name +cli-mesh$/m);
    expect(shown).toMatch(/^topology +mesh$/m);
    const keyed = JSON.parse(
      (
        await cli(
          ["create-network", "cli-keyed", "--cidr4", "10.79.0.0/24", "--preshared-keys", "hub", "--json"],
          api(),
        )
      ).stdout,
    );
    expect(keyed).toMatchObject({ name: "cli-keyed", presharedKeys: "hub" });

    const byName = await cli(["add-node", "cli-office", "laptop", "--email", "ada@example.com"], api());
    expect(byName.stdout).toMatch(/^\[Interface\]\nPrivateKey = \S+/m);
    expect(byName.stdout).toContain("Address = 10.77.0.2/");
    expect(byName.stderr).toMatch(/added laptop to cli-office: 10\.77\.0\.2 \(id [0-9a-f-]{36}\)/);
    expect(byName.stderr).toMatch(/agent token \(shown once\): wsn_/);

    const dir = mkdtempSync(path.join(tmpdir(), "wiresync-cli-"));
    try {
      const file = path.join(dir, "phone.conf");
      const byId = await cli(["add-node", made.id, "phone", "--out", file, "--qr"], api());
      expect(readFileSync(file, "utf8")).toContain("Address = 10.77.0.3/");
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(byId.stdout).toMatch(/[▀▄█]{10}/);
      expect(byId.stdout).not.toContain("PrivateKey");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const nodes = JSON.parse((await cli(["nodes", "--network", "cli-office", "--json"], api())).stdout);
    expect(nodes.map((n: { name: string }) => n.name).sort()).toEqual(["laptop", "phone"]);
    const shownNode = JSON.parse((await cli(["node", "laptop", "--json"], api())).stdout);
    expect(shownNode).toMatchObject({ name: "laptop", email: "ada@example.com", networkId: made.id });
    expect((await cli(["network", made.id], api())).stdout).toMatch(/^name +cli-office$/m);
    const configByName = (await cli(["config", "laptop"], api())).stdout;
    expect(configByName).toContain("Address = 10.77.0.2/");
  });

  it("shows nodes as a table for people and disables and enables them by name and by id", async () => {
    const net = await createNetwork(t, { name: "cli-table" });
    const { node } = await createNode(t, net.id, { name: "desk", email: "desk@example.com" });
    const listed = (await cli(["nodes", "--network", "cli-table"], api())).stdout.split("\n");
    expect(listed[0]).toMatch(
      /^id +name +email +ip4 +status +lastSeenAt +configVersion +appliedConfigVersion$/,
    );
    expect(listed[1]).toMatch(
      new RegExp(`^${node.id} +desk +desk@example.com +${node.ip4} +pending +- +1 +-$`),
    );
    expect(listed).toHaveLength(3);

    expect((await cli(["disable", "desk"], api())).stdout).toBe("disabled desk: off the hub until enabled\n");
    expect((await nodeNamed("desk"))[0].status).toBe("disabled");
    expect(JSON.parse((await cli(["enable", node.id, "--json"], api())).stdout).status).toBe("pending");
    expect(JSON.parse((await cli(["disable", node.id, "--json"], api())).stdout).status).toBe("disabled");
    await cli(["enable", "desk", "--network", "cli-table"], api());
    expect((await nodeNamed("desk"))[0].status).toBe("pending");
  });

  it("makes an enrollment key for a network by name and prints the agent command to run", async () => {
    await createNetwork(t, { name: "cli-enroll" });
    const out = (await cli(["enrollment-key", "cli-enroll", "--reusable", "--max-uses", "3"], api())).stdout;
    const key = /shown once\): (wse_\S+)/.exec(out)![1]!;
    expect(out).toContain("reusable, at most 3 uses");
    expect(out).toContain(
      `  WIRESYNC_URL=http://127.0.0.1:${server.port} AGENT_ENROLLMENT_KEY=${key} AGENT_INTERFACE=wsync0 AGENT_NAME=$(hostname) wiresync-agent`,
    );
    const registered = await t.request("/api/v1/nodes/register", {
      method: "POST",
      key: null,
      headers: { Authorization: `Bearer ${key}` },
      body: { name: "enrolled", publicKey: generateKeyPair().publicKey },
    });
    expect(registered.status).toBe(201);
  });

  it("deletes only when told to: refused without --yes off a terminal, done with it, by name and by id", async () => {
    const net = await createNetwork(t, { name: "cli-delete" });
    const { node: first } = await createNode(t, net.id, { name: "doomed" });
    await createNode(t, net.id, { name: "doomed-too" });
    expect(await refused(["delete-node", "doomed"])).toMatch(/not deleted: node doomed .*pass --yes/);
    expect(await nodeNamed("doomed")).toHaveLength(1);
    await cli(["delete-node", first.id, "--yes"], api());
    expect(await nodeNamed("doomed")).toHaveLength(0);
    expect((await cli(["delete-node", "doomed-too", "-y"], api())).stdout).toBe("deleted node doomed-too\n");
    expect(await refused(["delete-network", "cli-delete"])).toMatch(/not deleted: network cli-delete/);
    await cli(["delete-network", "cli-delete", "--yes"], api());
    expect((await t.request(`/api/v1/networks/${net.id}`)).status).toBe(404);
  });

  it("names the fix for an unknown network, and for a node name two networks share", async () => {
    expect(await refused(["nodes", "--network", "no-such-net"])).toMatch(
      /no network "no-such-net" \(networks: .*\)/,
    );
    const [a, b] = [
      await createNetwork(t, { name: "cli-twin-a" }),
      await createNetwork(t, { name: "cli-twin-b" }),
    ];
    await createNode(t, a.id, { name: "twin" });
    await createNode(t, b.id, { name: "twin" });
    expect(await refused(["disable", "twin"])).toMatch(/2 nodes are named "twin" .*add --network NAME/);
    await cli(["disable", "twin", "--network", "cli-twin-b"], api());
    const twins = await nodeNamed("twin");
    expect(twins.map((n: { networkId: string; status: string }) => [n.networkId, n.status]).sort()).toEqual(
      [
        [a.id, "pending"],
        [b.id, "disabled"],
      ].sort(),
    );
  });

  it("deletes the nodes of an email", async () => {
    const net = await createNetwork(t);
    await createNode(t, net.id, { email: "gone@example.com" });
    const out = JSON.parse(
      (await cli(["delete-email", "gone@example.com", "--yes", "--json"], api())).stdout,
    );
    expect(out.deleted).toBe(1);
  });

  it("explains a wrong key and exits 1", async () => {
    const err = await cli(["networks"], { ...api(), WIRESYNC_API_KEY: "wsk_wrong" }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toMatch(/401/);
  });

  it("calls an https API (its CA from NODE_EXTRA_CA_CERTS), and names an API it cannot reach", async () => {
    const net = await createNetwork(t, { name: "cli-https", cidr4: "10.75.0.0/24" });
    const dir = mkdtempSync(path.join(tmpdir(), "wiresync-cli-tls-"));
    const tls = await new Promise<Server>((resolve, reject) => {
      // A self-signed certificate for 127.0.0.1 (its own CA), in front of the same app.
      execFile(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:prime256v1",
          "-nodes",
          "-keyout",
          path.join(dir, "key.pem"),
          "-out",
          path.join(dir, "cert.pem"),
          "-days",
          "1",
          "-subj",
          "/CN=127.0.0.1",
          "-addext",
          "subjectAltName=IP:127.0.0.1",
        ],
        (err) => {
          if (err) return reject(err);
          const server = createAdaptorServer({
            fetch: t.app.fetch,
            createServer: createHttpsServer,
            serverOptions: {
              key: readFileSync(path.join(dir, "key.pem")),
              cert: readFileSync(path.join(dir, "cert.pem")),
            },
          });
          server.listen(0, "127.0.0.1", () => resolve(server as Server));
        },
      );
    });
    const { port } = tls.address() as AddressInfo;
    try {
      const env = {
        WIRESYNC_URL: `https://127.0.0.1:${port}`,
        WIRESYNC_API_KEY: t.adminKey,
        NODE_EXTRA_CA_CERTS: path.join(dir, "cert.pem"),
      };
      const nodes = JSON.parse((await cli(["nodes", "--network", "cli-https", "--json"], env)).stdout);
      expect(nodes).toEqual([]);
      const shown = JSON.parse((await cli(["network", net.id, "--json"], env)).stdout);
      expect(shown).toMatchObject({ id: net.id, name: "cli-https", cidr4: "10.75.0.0/24" });
    } finally {
      await new Promise((r) => tls.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
    // Nothing listens on that port now.
    const gone = await cli(["networks"], { ...api(), WIRESYNC_URL: `http://127.0.0.1:${port}` }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(gone).toMatchObject({
      code: 1,
      stderr: `wiresync: cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n`,
    });
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

  it("adopts a wg0.conf's peers, first as a dry run, listing refused peers with their reason", async () => {
    const net = await createNetwork(t, { name: "cli-adopt", cidr4: "10.76.0.0/24" });
    const keys = [generateKeyPair().publicKey, generateKeyPair().publicKey];
    const hub = generateKeyPair();
    const dir = mkdtempSync(path.join(tmpdir(), "wiresync-cli-"));
    try {
      const file = path.join(dir, "wg0.conf");
      writeFileSync(
        file,
        `[Interface]\nPrivateKey = ${hub.privateKey}\nListenPort = ${net.listenPort}\nAddress = 10.76.0.1/24\n\n# kitchen tablet\n[Peer]\nPublicKey = ${keys[0]}\nAllowedIPs = 10.76.0.9/32\n\n# far away\n[Peer]\nPublicKey = ${keys[1]}\nAllowedIPs = 10.1.2.3/32\n`,
      );
      const dry = (await cli(["adopt", "cli-adopt", "--file", file, "--dry-run"], api())).stdout;
      expect(dry).toMatch(/^would adopt 1 of 2 peers; 1 refused$/m);
      expect(dry).toMatch(/kitchen tablet +10\.76\.0\.9/);
      expect(dry).toMatch(/OUTSIDE_NETWORK/);
      expect(dry).toContain(`hub key: would be imported (${hub.publicKey}, port ${net.listenPort})`);
      expect(dry).not.toContain(hub.privateKey);
      expect(await nodeNamed("kitchen tablet")).toEqual([]);
      const done = JSON.parse((await cli(["adopt", net.id, "--file", file, "--json"], api())).stdout);
      expect(done.counts).toEqual({ seen: 2, adopted: 1, refused: 1 });
      expect(done).toMatchObject({ hubKey: "imported", hubPublicKey: hub.publicKey });
      expect((await nodeNamed("kitchen tablet"))[0]).toMatchObject({ ip4: "10.76.0.9", publicKey: keys[0] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
