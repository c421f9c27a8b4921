import { and, count, eq, isNull, like } from "drizzle-orm";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair, isWgKey, publicKeyOf } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, insertNodes } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("enrolling nodes", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("creates a network with a hub key pair, the hub on the first address", async () => {
    const net = await createNetwork(t, {
      cidr4: "10.20.0.0/24",
      cidr6: "fd00:20::/64",
      endpoint: "vpn.example.com:51820",
    });
    expect(net.hubIp4).toBe("10.20.0.1");
    expect(net.hubIp6).toBe("fd00:20::1");
    expect(isWgKey(net.hubPublicKey)).toBe(true);
    expect(JSON.stringify(net)).not.toMatch(/private/i);
  });

  it("generates a key pair when none is given and returns the full config once", async () => {
    const net = await createNetwork(t, {
      cidr4: "10.21.0.0/24",
      cidr6: "fd00:21::/64",
      endpoint: "vpn.example.com:51820",
    });
    const created = await createNode(t, net.id, { name: "laptop", email: "Ada@Example.com" });
    expect(created.node.ip4).toBe("10.21.0.2");
    expect(created.node.ip6).toBe("fd00:21::2");
    expect(created.node.email).toBe("ada@example.com");
    expect(created.node.hasServerKey).toBe(true);
    expect(created.token).toMatch(/^wsn_/);
    const privateKey = /^PrivateKey = (\S+)$/m.exec(created.config)?.[1];
    expect(privateKey && publicKeyOf(privateKey)).toBe(created.node.publicKey);
    expect(created.config).toContain(`PublicKey = ${net.hubPublicKey}`);
    expect(created.config).toContain("AllowedIPs = 10.21.0.0/24, fd00:21::/64");
    expect(created.config).toContain("Endpoint = vpn.example.com:51820");

    const fetched = await json(await t.request(`/api/v1/nodes/${created.node.id}`));
    expect(JSON.stringify(fetched)).not.toContain(privateKey);
  });

  it("hands a freed IPv4 and IPv6 address to the next node, lowest first", async () => {
    const net = await createNetwork(t, { cidr4: "10.29.0.0/24", cidr6: "fd00:29::/64" });
    const made = [];
    for (const name of ["a", "b", "c", "d"]) made.push(await createNode(t, net.id, { name }));
    expect(made.map((m) => [m.node.ip4, m.node.ip6])).toEqual([
      ["10.29.0.2", "fd00:29::2"],
      ["10.29.0.3", "fd00:29::3"],
      ["10.29.0.4", "fd00:29::4"],
      ["10.29.0.5", "fd00:29::5"],
    ]);
    for (const m of [made[2]!, made[1]!])
      expect((await t.request(`/api/v1/nodes/${m.node.id}`, { method: "DELETE" })).status).toBe(200);
    const again = [await createNode(t, net.id, { name: "e" }), await createNode(t, net.id, { name: "f" })];
    expect(again.map((m) => [m.node.ip4, m.node.ip6])).toEqual([
      ["10.29.0.3", "fd00:29::3"],
      ["10.29.0.4", "fd00:29::4"],
    ]);
    expect((await createNode(t, net.id, { name: "g" })).node.ip6).toBe("fd00:29::6");
  });

  it("keeps no private key when the node brings its public key", async () => {
    const net = await createNetwork(t);
    const { publicKey } = generateKeyPair();
    const created = await createNode(t, net.id, { publicKey });
    expect(created.node.publicKey).toBe(publicKey);
    expect(created.node.hasServerKey).toBe(false);
    expect(created.config).toBeUndefined();
    const config = await (await t.request(`/api/v1/nodes/${created.node.id}/config`)).text();
    expect(config).not.toMatch(/^PrivateKey/m);
    expect(config).toMatch(/^# PrivateKey = <this node's own private key/m);
  });

  it("renders mesh configs with a peer per other node and the hub's host address", async () => {
    const net = await createNetwork(t, {
      topology: "mesh",
      persistentKeepalive: 25,
      dns: ["10.22.0.1"],
      mtu: 1380,
      cidr4: "10.22.0.0/24",
    });
    const a = await createNode(t, net.id, { name: "a", endpoint: "203.0.113.5:51820" });
    const b = await createNode(t, net.id, { name: "b" });
    const config = await (await t.request(`/api/v1/nodes/${b.node.id}/config`)).text();
    expect(config).toContain("AllowedIPs = 10.22.0.1/32");
    expect(config).toContain(
      `PublicKey = ${a.node.publicKey}\nAllowedIPs = 10.22.0.2/32\nEndpoint = 203.0.113.5:51820\nPersistentKeepalive = 25`,
    );
    expect(config).toContain("DNS = 10.22.0.1");
    expect(config).toContain("MTU = 1380");
    const aConfig = await (await t.request(`/api/v1/nodes/${a.node.id}/config`)).text();
    expect(aConfig).toContain("ListenPort = 51820");
    expect(aConfig).toContain(`PublicKey = ${b.node.publicKey}`);
  });

  it("bumps the config version of every node whose config changed, and queues pushes and a peer sync", async () => {
    const net = await createNetwork(t, { topology: "mesh" });
    const a = await createNode(t, net.id);
    const before = await json(await t.request(`/api/v1/nodes/${a.node.id}`));
    await createNode(t, net.id);
    const after = await json(await t.request(`/api/v1/nodes/${a.node.id}`));
    expect(after.data.configVersion).toBe(before.data.configVersion + 1);
    const push = await t.platform.queue.queues["config-push"].getJob(
      `push-${a.node.id}-${after.data.configVersion}`,
    );
    expect(push?.data).toEqual({ nodeId: a.node.id, version: after.data.configVersion });
    const syncs = await t.platform.queue.queues["peer-sync"].getJobs(["prioritized", "waiting"]);
    expect(syncs.some((j) => j.name === "network-sync" && j.data.networkId === net.id)).toBe(true);
  });

  it("in a hub network with routes, changes other configs only when the new node carries routes", async () => {
    const net = await createNetwork(t, { topology: "hub" });
    const version = async (id: string) =>
      (await json(await t.request(`/api/v1/nodes/${id}`))).data.configVersion as number;
    const router = await createNode(t, net.id, { extraAllowedIps: ["192.168.60.0/24"] });
    const routerVersion = await version(router.node.id);
    const plain = await createNode(t, net.id);
    // Its config routes what is behind the router through the hub; the router's config is as it was.
    expect(await (await t.request(`/api/v1/nodes/${plain.node.id}/config`)).text()).toMatch(
      /AllowedIPs = [^\n]*192\.168\.60\.0\/24/,
    );
    expect(await version(router.node.id)).toBe(routerVersion);
    // The hash stored at enrollment is the one a full refresh computes: no version moves.
    const plainVersion = await version(plain.node.id);
    await t.platform.services.configs.pushConfigs(net.id);
    expect([await version(plain.node.id), await version(router.node.id)]).toEqual([
      plainVersion,
      routerVersion,
    ]);
    // A second router changes every other node's config.
    await createNode(t, net.id, { extraAllowedIps: ["192.168.61.0/24"] });
    expect(await version(plain.node.id)).toBe(plainVersion + 1);
    expect(await version(router.node.id)).toBe(routerVersion + 1);
    expect(await (await t.request(`/api/v1/nodes/${plain.node.id}/config`)).text()).toMatch(
      /AllowedIPs = [^\n]*192\.168\.61\.0\/24/,
    );
  });

  it("moves every node's config version once for a change to the network, in batches past a thousand", async () => {
    const net = await createNetwork(t, { cidr4: "10.230.0.0/16" });
    const version = async (id: string) =>
      (await json(await t.request(`/api/v1/nodes/${id}`))).data.configVersion as number;
    const enrolled = [await createNode(t, net.id), await createNode(t, net.id)];
    // Nodes written straight into the table have no config hash yet: the change gives them one.
    await insertNodes(t.db.database.db, net.id, 1_100, "10.230.10.0");
    const before = await Promise.all(enrolled.map((n) => version(n.node.id)));
    const patch = () =>
      t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { dns: ["10.230.0.53"] } });
    expect((await patch()).status).toBe(200);
    const after = await Promise.all(enrolled.map((n) => version(n.node.id)));
    expect(after).toEqual(before.map((v) => v + 1));
    const push = await t.platform.queue.queues["config-push"].getJob(
      `push-${enrolled[1]!.node.id}-${after[1]}`,
    );
    expect(push?.data).toEqual({ nodeId: enrolled[1]!.node.id, version: after[1] });
    const unhashed = await t.db.database.db
      .select({ n: count() })
      .from(nodes)
      .where(and(eq(nodes.networkId, net.id), isNull(nodes.configHash)));
    expect(unhashed[0]!.n).toBe(0);
    // A first hash is no new version: no config was announced for them before.
    const bulkVersions = await t.db.database.db
      .selectDistinct({ v: nodes.configVersion })
      .from(nodes)
      .where(and(eq(nodes.networkId, net.id), like(nodes.name, "bulk-%")));
    expect(bulkVersions).toEqual([{ v: 1 }]);
    // The same change again changes no config.
    expect((await patch()).status).toBe(200);
    expect(await Promise.all(enrolled.map((n) => version(n.node.id)))).toEqual(after);
  });

  it("checks a network's configs without its lock, and takes the lock only to store changed ones", async () => {
    const net = await createNetwork(t);
    const node = await createNode(t, net.id);
    const version = async () =>
      (await json(await t.request(`/api/v1/nodes/${node.node.id}`))).data.configVersion as number;
    const before = await version();
    // Another session holds the network's row lock, as an enrollment in progress does.
    const other = postgres(t.db.url, { max: 1, onnotice: () => {} });
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const holding = new Promise<void>((resolve) => (locked = resolve));
    const holder = other.begin(async (tx) => {
      await tx`select id from networks where id = ${net.id} for update`;
      locked();
      await released;
    });
    try {
      await holding;
      const settledWithin = (p: Promise<unknown>, ms: number) =>
        Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
      // Nothing changed: done without waiting for the lock.
      expect(await settledWithin(t.platform.services.configs.pushConfigs(net.id), 2_000)).toBe(true);
      // A stale hash (as after an upgrade that renders configs differently): stored under the lock.
      await t.db.database.db.update(nodes).set({ configHash: "stale" }).where(eq(nodes.id, node.node.id));
      const refresh = t.platform.services.configs.pushConfigs(net.id);
      expect(await settledWithin(refresh, 300)).toBe(false);
      release();
      expect(await refresh).toBeGreaterThanOrEqual(1);
      expect(await version()).toBe(before + 1);
    } finally {
      release();
      await holder;
      await other.end();
    }
  });

  it("reuses a deleted node's address", async () => {
    const net = await createNetwork(t);
    const first = await createNode(t, net.id);
    await createNode(t, net.id);
    expect((await t.request(`/api/v1/nodes/${first.node.id}`, { method: "DELETE" })).status).toBe(200);
    const third = await createNode(t, net.id);
    expect(third.node.ip4).toBe(first.node.ip4);
  });

  it("serves the config as a QR code PNG", async () => {
    const net = await createNetwork(t);
    const created = await createNode(t, net.id);
    const res = await t.request(`/api/v1/nodes/${created.node.id}/config?format=qr`);
    expect(res.headers.get("content-type")).toBe("image/png");
    const png = Buffer.from(await res.arrayBuffer());
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
  });

  it("lists nodes with filters, search and paging", async () => {
    const net = await createNetwork(t);
    for (const name of ["alpha", "beta", "gamma"])
      await createNode(t, net.id, { name, email: `${name}@example.com` });
    const page = await json(await t.request(`/api/v1/nodes?networkId=${net.id}&limit=2&offset=0`));
    expect(page.data.total).toBe(3);
    expect(page.data.items).toHaveLength(2);
    // "mma@" cannot occur in a base64 public key ('@' is not base64): only gamma's email matches.
    const search = await json(await t.request(`/api/v1/nodes?networkId=${net.id}&q=mma%40`));
    expect(search.data.items.map((n: { name: string }) => n.name)).toEqual(["gamma"]);
    const byEmail = await json(await t.request("/api/v1/nodes?email=BETA@example.com"));
    expect(byEmail.data.items.map((n: { name: string }) => n.name)).toEqual(["beta"]);
  });

  it("deletes every node of an email, keeping or dropping usage history", async () => {
    const n1 = await createNetwork(t);
    const n2 = await createNetwork(t);
    await createNode(t, n1.id, { email: "leaver@example.com" });
    await createNode(t, n2.id, { email: "leaver@example.com" });
    const stay = await createNode(t, n2.id, { email: "stayer@example.com" });
    const res = await json(
      await t.request("/api/v1/nodes?email=leaver@example.com&keep_usage_history=false", {
        method: "DELETE",
      }),
    );
    expect(res.data.deleted).toBe(2);
    const left = await json(await t.request("/api/v1/nodes?email=leaver@example.com"));
    expect(left.data.total).toBe(0);
    expect((await t.request(`/api/v1/nodes/${stay.node.id}`)).status).toBe(200);
  });

  it("returns each network's public side from GET /api/v1/config", async () => {
    const net = await createNetwork(t, { endpoint: "hub.example.net:51999", listenPort: 51999 });
    const res = await json(await t.request("/api/v1/config"));
    const entry = res.data.find((e: { networkId: string }) => e.networkId === net.id);
    expect(entry).toEqual({
      networkId: net.id,
      name: net.name,
      publicKey: net.hubPublicKey,
      endpoint: "hub.example.net:51999",
      listenPort: 51999,
      cidr4: net.cidr4,
      cidr6: null,
    });
  });

  it("records every change in the audit log", async () => {
    const net = await createNetwork(t);
    const created = await createNode(t, net.id);
    await t.request(`/api/v1/nodes/${created.node.id}`, { method: "PATCH", body: { name: "renamed" } });
    await t.request(`/api/v1/nodes/${created.node.id}`, { method: "DELETE" });
    const audit = await json(await t.request(`/api/admin/audit?entityType=node&entityId=${created.node.id}`));
    expect(audit.data.items.map((e: { action: string }) => e.action)).toEqual([
      "node.deleted",
      "node.updated",
      "node.created",
    ]);
  });
});
