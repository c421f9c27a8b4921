/**
 * Adopting a wg0.conf whose [Interface] holds the hub's own PrivateKey and ListenPort: the network
 * takes them over (sealed as a network's hub key is), only while it has no nodes, only when the
 * conf's Address is the network's hub address; the key is in no answer, log, event or audit row.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, networks, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { createApiKey } from "../../../support/auth.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, outboxEvents } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("adopting a wg0.conf imports the hub's own key and port", () => {
  let t: TestPlatform;
  const hub = generateKeyPair();
  const peers = Array.from({ length: 3 }, () => generateKeyPair().publicKey);
  const conf = (over: { address?: string; port?: number; key?: string } = {}) =>
    [
      "[Interface]",
      `PrivateKey = ${over.key ?? hub.privateKey}`,
      `ListenPort = ${over.port ?? 51871}`,
      `Address = ${over.address ?? "10.81.0.1/24"}`,
      "",
      ...peers.flatMap((k, i) => ["[Peer]", `PublicKey = ${k}`, `AllowedIPs = 10.81.0.${10 + i}/32`, ""]),
    ].join("\n");
  const post = (networkId: string, body: string, query = "") =>
    t.request(`/api/v1/networks/${networkId}/adopt${query}`, {
      method: "POST",
      body,
      headers: { "Content-Type": "text/plain" },
    });
  const networkRow = async (id: string) =>
    (await t.platform.database.db.select().from(networks).where(eq(networks.id, id)))[0]!;
  const nodeCount = async (id: string) =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, id))).length;

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("shows in a dry run that the hub key would be imported, changing nothing", async () => {
    const net = await createNetwork(t, { cidr4: "10.81.0.0/24", listenPort: 51870 });
    const before = await networkRow(net.id);
    const res = await post(net.id, conf(), "?dryRun=true");
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).data).toMatchObject({
      dryRun: true,
      hubKeyMatches: false,
      hubKey: "would be imported",
      hubPublicKey: hub.publicKey,
      listenPort: 51871,
      counts: { seen: 3, adopted: 3, refused: 0 },
    });
    expect(text).not.toContain(hub.privateKey);
    expect(await networkRow(net.id)).toEqual(before);
    expect(await nodeCount(net.id)).toBe(0);
    expect((await t.request(`/api/v1/networks/${net.id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("imports the key sealed as the network's, and its port; the key is in no answer, log, event or audit row", async () => {
    const net = await createNetwork(t, { cidr4: "10.81.0.0/24", listenPort: 51870, name: "own-key" });
    const previous = (await networkRow(net.id)).hubPublicKey;
    const res = await post(net.id, conf());
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(JSON.parse(text).data).toMatchObject({
      dryRun: false,
      hubKey: "imported",
      hubPublicKey: hub.publicKey,
      listenPort: 51871,
      counts: { seen: 3, adopted: 3, refused: 0 },
    });
    const row = await networkRow(net.id);
    expect(row.hubPublicKey).toBe(hub.publicKey);
    expect(row.listenPort).toBe(51871);
    expect(row.hubPrivateKeyEnc).not.toContain(hub.privateKey);
    expect(t.platform.secrets.open(row.hubPrivateKeyEnc, `network:${net.id}`)).toBe(hub.privateKey);
    expect(await nodeCount(net.id)).toBe(3);

    // Every adopted node's config names the imported hub key and port.
    const [first] = await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, net.id));
    const config = await (await t.request(`/api/v1/nodes/${first!.id}/config`)).text();
    expect(config).toContain(`PublicKey = ${hub.publicKey}`);
    expect(config).not.toContain(hub.privateKey);
    const view = await (await t.request(`/api/v1/networks/${net.id}`)).text();
    expect(JSON.parse(view).data.hubPublicKey).toBe(hub.publicKey);
    expect(view).not.toContain(hub.privateKey);

    const audit = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "network.hub-key-imported"));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toEqual({
      previousHubPublicKey: previous,
      hubPublicKey: hub.publicKey,
      listenPort: 51871,
    });
    const allAudit = await t.platform.database.db.select().from(auditLog);
    expect(JSON.stringify(allAudit)).not.toContain(hub.privateKey);
    expect(JSON.stringify(await outboxEvents(t))).not.toContain(hub.privateKey);
    expect(t.logs.lines.length).toBeGreaterThan(0);
    expect(t.logs.text).not.toContain(hub.privateKey);
  });

  it("a read key cannot import: 403, and nothing changes", async () => {
    const net = await createNetwork(t, { cidr4: "10.85.0.0/24", listenPort: 51875 });
    const before = await networkRow(net.id);
    const reader = await createApiKey(t, ["read"]);
    const res = await t.request(`/api/v1/networks/${net.id}/adopt`, {
      method: "POST",
      key: reader.key,
      body: conf({ address: "10.85.0.1/24", port: 51876 }),
      headers: { "Content-Type": "text/plain" },
    });
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain(hub.privateKey);
    expect(await networkRow(net.id)).toEqual(before);
  });

  it("409 when the network has nodes already: their devices run with its hub key; nothing changes", async () => {
    const net = await createNetwork(t, { cidr4: "10.82.0.0/24", listenPort: 51872 });
    await createNode(t, net.id, { name: "running" });
    const before = await networkRow(net.id);
    const res = await post(net.id, conf({ address: "10.82.0.1/24", port: 51873 }));
    const body = await json(res);
    expect(res.status).toBe(409);
    expect(body.code).toBe("CONFLICT");
    expect(body.detail).toMatch(/has 1 nodes running with its hub key/);
    expect(body.detail).toMatch(/remove the PrivateKey line/);
    expect(JSON.stringify(body)).not.toContain(hub.privateKey);
    expect(await networkRow(net.id)).toEqual(before);
    expect(await nodeCount(net.id)).toBe(1);
  });

  it.each([
    ["another address of the network", "10.83.0.9/24", /is not network .* hub address 10\.83\.0\.1/],
    [
      "an address outside the network",
      "10.99.0.1/24",
      /lies outside network .* \(10\.83\.0\.0\/24, hub 10\.83\.0\.1\)/,
    ],
  ])("409 for a conf whose Address is %s; nothing changes", async (_what, address, message) => {
    const net = await createNetwork(t, { cidr4: "10.83.0.0/24", listenPort: 51877 });
    const before = await networkRow(net.id);
    for (const query of ["?dryRun=true", ""]) {
      const res = await post(net.id, conf({ address, port: 51878 }), query);
      const body = await json(res);
      expect(res.status).toBe(409);
      expect(body.detail).toMatch(message);
    }
    expect(await networkRow(net.id)).toEqual(before);
    expect(await nodeCount(net.id)).toBe(0);
    expect((await t.request(`/api/v1/networks/${net.id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("409 LISTEN_PORT_TAKEN when another network listens on the conf's port; nothing changes", async () => {
    await createNetwork(t, { cidr4: "10.86.0.0/24", listenPort: 51880 });
    const net = await createNetwork(t, { cidr4: "10.84.0.0/24", listenPort: 51879 });
    const before = await networkRow(net.id);
    const res = await post(net.id, conf({ address: "10.84.0.1/24", port: 51880 }));
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe("LISTEN_PORT_TAKEN");
    expect(await networkRow(net.id)).toEqual(before);
    expect(await nodeCount(net.id)).toBe(0);
  });

  it("a conf with the network's own key and port imports nothing: hubKey is matches", async () => {
    const net = await createNetwork(t, { cidr4: "10.87.0.0/24", listenPort: 51881 });
    const before = await networkRow(net.id);
    const own = t.platform.secrets.open(before.hubPrivateKeyEnc, `network:${net.id}`);
    const res = await post(net.id, conf({ key: own, address: "10.87.0.1/24", port: 51881 }), "?dryRun=true");
    const body = await json(res);
    expect(res.status).toBe(200);
    expect(body.data).toMatchObject({ hubKeyMatches: true, hubKey: "matches", listenPort: 51881 });
    expect(JSON.stringify(body)).not.toContain(own);
  });
});
