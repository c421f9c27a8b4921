import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteAllPendingJoins, insertPendingJoin, pendingJoinIds } from "../../../src/mesh/mesh.repo.js";
import { checkPlan, FakeWg, generateKeyPair } from "../../../src/wireguard/index.js";
import { processNetworkSync } from "../../../workers/processors/network-sync.js";
import { fakeInterfaceOps } from "../../support/fake-interfaces.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

describe("peer sync against in-memory interfaces", () => {
  let t: TestPlatform;
  const { ops, fakes, ensured } = fakeInterfaceOps();
  beforeAll(async () => {
    t = await createTestPlatform({
      wireguard: { interfaces: [{ network: "office", iface: "wsoffice", netns: undefined }], driver: "auto" },
      interfaceOps: ops,
    });
  });
  afterAll(async () => {
    await t.close();
  });

  const sync = (networkId: string, removeUnknown = false) =>
    t.platform.services.peerSync.syncNetwork(networkId, { removeUnknown, reportDrift: true });

  it("brings a missing interface up with the hub's key, then applies every peer in one write", async () => {
    const net = await createNetwork(t, {
      name: "office",
      cidr4: "10.77.0.0/24",
      cidr6: "fd00:77::/64",
      listenPort: 51999,
    });
    const nodes = [
      await createNode(t, net.id),
      await createNode(t, net.id, { extraAllowedIps: ["192.168.50.0/24"] }),
    ];
    // No interface yet: the shared helper's first read fails as a real driver's would.
    expect(fakes.has("wsoffice")).toBe(false);
    const outcome = await sync(net.id);
    expect(ensured).toContain("wsoffice");
    const fake = fakes.get("wsoffice")!;
    const state = await fake.dump();
    expect(state.publicKey).toBe(net.hubPublicKey);
    expect(state.listenPort).toBe(51999);
    expect(fake.writes).toBe(1);
    expect(outcome).toMatchObject({ managed: true, peers: 2, writes: 1 });
    const byKey = new Map(state.peers.map((p) => [p.publicKey, p.allowedIps]));
    expect(byKey.get(nodes[0].node.publicKey)).toEqual([
      `${nodes[0].node.ip4}/32`,
      `${nodes[0].node.ip6}/128`,
    ]);
    expect(byKey.get(nodes[1].node.publicKey)).toContain("192.168.50.0/24");
  });

  it("writes nothing when nothing differs", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    const fake = fakes.get("wsoffice")!;
    const before = fake.writes;
    const outcome = await sync(net.id);
    expect(fake.writes).toBe(before);
    expect(outcome.writes).toBe(0);
    expect(outcome.note).toMatch(/noChange in 0 write/);
  });

  it("removes deleted and disabled nodes, leaves unknown peers alone but reports them, and removes them on a fix", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    const gone = await createNode(t, net.id);
    const off = await createNode(t, net.id);
    await sync(net.id);
    await t.request(`/api/v1/nodes/${gone.node.id}`, { method: "DELETE" });
    await t.request(`/api/v1/nodes/${off.node.id}`, { method: "PATCH", body: { status: "disabled" } });
    const stranger = generateKeyPair().publicKey;
    fakes.get("wsoffice")!.inject(FakeWg.peerOf({ publicKey: stranger, allowedIps: ["10.77.0.200/32"] }));

    const outcome = await sync(net.id);
    const keys = (await fakes.get("wsoffice")!.dump()).peers.map((p) => p.publicKey);
    expect(keys).not.toContain(gone.node.publicKey);
    expect(keys).not.toContain(off.node.publicKey);
    expect(keys).toContain(stranger);
    expect(outcome.drift.unexpected).toContain(stranger);
    expect(outcome.note).toMatch(/1 unknown peers left in place/);

    const fixed = await sync(net.id, true);
    expect((await fakes.get("wsoffice")!.dump()).peers.map((p) => p.publicKey)).not.toContain(stranger);
    expect(fixed.writes).toBe(1);
    const metrics = await t.platform.metrics.registry.metrics();
    expect(metrics).toMatch(/wiresync_drift_detected_total\{[^}]*kind="unexpected"[^}]*\} [1-9]/);
    const events = await t.db.database.db.query.events.findMany();
    expect(events.filter((e) => e.type === "drift.detected").length).toBeGreaterThan(0);
  });

  it("restores a peer removed by hand and repairs changed allowed IPs", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    const node = await createNode(t, net.id);
    await sync(net.id);
    const fake = fakes.get("wsoffice")!;
    await fake.apply(
      checkPlan({
        add: [],
        remove: [node.node.publicKey],
        update: [],
        unexpected: [],
        reason: "by hand",
      }),
    );
    const other = (await fake.dump()).peers[0]!;
    fake.mutate(other.publicKey, { allowedIps: ["10.77.0.250/32"] });
    const outcome = await sync(net.id);
    expect(outcome.drift.missing).toEqual([node.node.publicKey]);
    expect(outcome.drift.mismatched.map((m) => m.publicKey)).toEqual([other.publicKey]);
    const after = await fake.dump();
    expect(after.peers.map((p) => p.publicKey)).toContain(node.node.publicKey);
    expect(after.peers.find((p) => p.publicKey === other.publicKey)!.allowedIps).not.toContain(
      "10.77.0.250/32",
    );
  });

  it("serves a network without an interface here with a note, and touches nothing", async () => {
    const other = await createNetwork(t, { cidr4: "10.78.0.0/24" });
    await createNode(t, other.id);
    const outcome = await sync(other.id);
    expect(outcome).toMatchObject({ managed: false, writes: 0 });
    expect(outcome.note).toMatch(/no WireGuard interface is managed for this network here; 1 desired peers/);
  });

  it("records usage and handshakes from the interface's counters", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    const fake = fakes.get("wsoffice")!;
    const [peer] = (await fake.dump()).peers;
    fake.mutate(peer!.publicKey, { rxBytes: 4096, txBytes: 1024, latestHandshake: 1_790_000_000 });
    const result = await t.platform.services.peerSync.collectUsage(net.id);
    expect(result.managed).toBe(true);
    const usage = await json(await t.request(`/api/v1/usage?network=${net.id}`));
    expect(
      usage.data.items.find((u: { publicKey: string }) => u.publicKey === peer!.publicKey),
    ).toMatchObject({ rxBytes: 4096, txBytes: 1024 });
  });

  it("counts a targeted apply's joined peers on the interface at once, each once", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    const gauge = async () => {
      const text = await t.platform.metrics.registry.metrics();
      return Number(/wiresync_interface_peers\{interface="wsoffice"[^}]*\} (\d+)/.exec(text)?.[1]);
    };
    await sync(net.id);
    const fake = fakes.get("wsoffice")!;
    const before = (await fake.dump()).peers.length;
    expect(await gauge()).toBe(before);
    const joined = [await createNode(t, net.id), await createNode(t, net.id)];
    const ids = joined.map((j) => j.node.id as string);
    expect(await t.platform.services.peerSync.applyJoined(net.id)).toMatchObject({
      writes: 1,
      peers: 2,
    });
    expect((await fake.dump()).peers).toHaveLength(before + 2);
    expect(await gauge()).toBe(before + 2);
    // Applied again (its worker died between the write and the rows' delete, and the job ran again):
    // on the interface already, so not counted again.
    await insertPendingJoin(t.db.database.db, net.id, ids[0]!);
    expect(await t.platform.services.peerSync.applyJoined(net.id)).toMatchObject({
      writes: 1,
      peers: 1,
    });
    expect(await gauge()).toBe(before + 2);
    // A full sync counts what it finds, and agrees.
    expect(await sync(net.id)).toMatchObject({ writes: 0 });
    expect(await gauge()).toBe(before + 2);
  });

  it("takes a legacy job naming the joined nodes (no pending rows) as a full sync, and drops the pending rows of a network with no interface here", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    await sync(net.id);
    const fake = fakes.get("wsoffice")!;
    const db = t.db.database.db;
    const pendingOf = async (networkId: string) => (await pendingJoinIds(db, networkId)).length;
    const legacy = await createNode(t, net.id);
    // As an API from before pending_joins enrolled it: no row, the node named in the job.
    await deleteAllPendingJoins(db, net.id);
    const result = await processNetworkSync(
      { data: { networkId: net.id, reason: "legacy", nodeIds: [legacy.node.id] } } as Job,
      { peerSync: t.platform.services.peerSync },
    );
    expect(result).toMatchObject({ managed: true, writes: 1 });
    expect((await fake.dump()).peers.map((p) => p.publicKey)).toContain(legacy.node.publicKey);

    const elsewhere = await createNetwork(t, { name: "elsewhere", cidr4: "10.79.0.0/24", listenPort: 51998 });
    await createNode(t, elsewhere.id);
    expect(await pendingOf(elsewhere.id)).toBe(1);
    expect(await t.platform.services.peerSync.applyJoined(elsewhere.id)).toMatchObject({ managed: false });
    expect(await pendingOf(elsewhere.id)).toBe(0);
  });

  it("follows a network renamed away from its interface, back to it, and deleted", async () => {
    const net = (await json(await t.request("/api/v1/networks"))).data.find(
      (n: { name: string }) => n.name === "office",
    );
    expect((await sync(net.id)).managed).toBe(true); // the binding is now remembered
    const rename = (name: string) =>
      t.request(`/api/v1/networks/${net.id}`, { method: "PATCH", body: { name } });
    expect((await rename("office-old")).status).toBe(200);
    const fake = fakes.get("wsoffice")!;
    const before = (await fake.dump()).peers.length;
    await createNode(t, net.id);
    const away = await sync(net.id);
    expect(away).toMatchObject({ managed: false, writes: 0 });
    expect((await fake.dump()).peers).toHaveLength(before);
    // Nothing is kept for a network no longer synced here.
    expect(t.platform.services.peerSync.kept()).toEqual([]);

    expect((await rename("office")).status).toBe(200);
    const back = await sync(net.id);
    expect(back).toMatchObject({ managed: true, writes: 1 });
    expect((await fake.dump()).peers).toHaveLength(before + 1);
    expect(t.platform.services.peerSync.kept()).toEqual([
      { iface: "wsoffice", networkId: net.id, peers: before + 1 },
    ]);

    expect((await t.request(`/api/v1/networks/${net.id}?force=true`, { method: "DELETE" })).status).toBe(200);
    expect(await sync(net.id)).toMatchObject({ managed: false, note: "the network no longer exists" });
    // The deleted network's hub peers, desired set and plan memo are dropped with it.
    expect(t.platform.services.peerSync.kept()).toEqual([]);
  });
});
