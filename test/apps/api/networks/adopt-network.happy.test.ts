import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode, outboxEvents } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const keys = Array.from({ length: 12 }, () => generateKeyPair().publicKey);
const psk = generateKeyPair().privateKey;

/** A wg0.conf of 12 peers for a network of 10.77.0.0/24 + fd77::/64 with one node at .2 already. */
function conf(): string {
  const peer = (i: number, lines: string[], comment?: string) =>
    [...(comment ? [`# ${comment}`] : []), "[Peer]", `PublicKey = ${keys[i]}`, ...lines, ""].join("\r\n");
  return [
    "[Interface]\r\nAddress = 10.77.0.1/24\r\nListenPort = 51820\r\nPostUp = true\r\n",
    peer(0, ["AllowedIPs = 10.77.0.10/32, fd77::10/128"], "alice laptop"),
    peer(
      1,
      ["AllowedIPs = 10.77.0.11/32", "AllowedIPs = 192.168.40.0/24", "Endpoint = 198.51.100.7:51820"],
      "office router",
    ),
    peer(2, ["AllowedIPs = 10.77.0.12/32", `PresharedKey = ${psk}`]),
    peer(3, ["AllowedIPs = 10.77.0.13/32"], "bob's phone (old)"),
    peer(4, ["AllowedIPs = 10.99.0.4/32"], "outside"),
    peer(5, ["AllowedIPs = 192.168.50.0/24"], "no address"),
    peer(6, ["AllowedIPs = 10.77.0.2/32"], "takes a node's address"),
    peer(7, ["AllowedIPs = 10.77.0.1/32"], "takes the hub's address"),
    peer(8, ["AllowedIPs = 10.77.0.20/32"], "twin one"),
    peer(9, ["AllowedIPs = 10.77.0.20/32"], "twin two"),
    peer(10, ["AllowedIPs = 10.77.0.21/32, 10.77.0.22/32"], "two addresses"),
    peer(11, ["AllowedIPs = 10.77.0.23/32"], "existing"),
  ].join("\r\n");
}

/** The line of peer `i`'s `[Peer]` header in `conf()`. */
const headerLine = (i: number) => conf().split("\r\n").indexOf(`PublicKey = ${keys[i]}`);

describe("adopting a wg0.conf's peers as nodes", () => {
  let t: TestPlatform;
  let net: Json;
  let existing: Json;
  beforeAll(async () => {
    t = await createTestPlatform();
    net = await createNetwork(t, { name: "adopted", cidr4: "10.77.0.0/24", cidr6: "fd77::/64" });
    existing = await createNode(t, net.id, { name: "existing" });
  });
  afterAll(async () => {
    await t.close();
  });

  const adopt = (query = "") =>
    t.request(`/api/v1/networks/${net.id}/adopt${query}`, {
      method: "POST",
      body: conf(),
      headers: { "Content-Type": "text/plain" },
    });
  const nodeCount = async () =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, net.id))).length;

  it("shows in a dry run what would be adopted and refused, and changes nothing", async () => {
    const eventsBefore = (await outboxEvents(t)).length;
    const res = await adopt("?dryRun=true");
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data.dryRun).toBe(true);
    expect(body.data.counts).toEqual({ seen: 12, adopted: 5, refused: 7 });
    expect(body.data.adopted.map((a: Json) => a.id)).toEqual([null, null, null, null, null]);
    expect(await nodeCount()).toBe(1);
    expect((await outboxEvents(t)).length).toBe(eventsBefore);
  });

  it("adopts the good peers with their names, addresses, routes and endpoints, and refuses the rest by reason", async () => {
    const res = await adopt();
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    const data = body.data;
    expect(data).toMatchObject({
      dryRun: false,
      source: "conf",
      iface: null,
      configDownloadable: false,
      hubKeyMatches: null,
    });
    expect(data.counts).toEqual({ seen: 12, adopted: 5, refused: 7 });
    expect(
      data.adopted.map((a: Json) => [a.name, a.ip4, a.ip6, a.extraAllowedIps, a.endpoint, a.hasPresharedKey]),
    ).toEqual([
      ["alice laptop", "10.77.0.10", "fd77::10", [], null, false],
      ["office router", "10.77.0.11", null, ["192.168.40.0/24"], "198.51.100.7:51820", false],
      [
        `peer-${keys[2]!
          .replace(/[^A-Za-z0-9]/g, "")
          .slice(0, 8)
          .toLowerCase()}`,
        "10.77.0.12",
        null,
        [],
        null,
        true,
      ],
      ["bob-s phone -old-", "10.77.0.13", null, [], null, false],
      // A node of the network has the name its comment gives.
      ["existing-2", "10.77.0.23", null, [], null, false],
    ]);
    expect(data.refused.map((r: Json) => [r.name, r.reason, r.line])).toEqual([
      ["outside", "OUTSIDE_NETWORK", headerLine(4)],
      ["no address", "NO_ADDRESS", headerLine(5)],
      ["takes a node-s address", "ADDRESS_TAKEN", headerLine(6)],
      ["takes the hub-s address", "ADDRESS_TAKEN", headerLine(7)],
      ["two addresses", "SEVERAL_ADDRESSES", headerLine(10)],
      ["twin one", "ADDRESS_COLLISION", headerLine(8)],
      ["twin two", "ADDRESS_COLLISION", headerLine(9)],
    ]);
    expect(data.refused.find((r: Json) => r.name === "outside").message).toContain("10.99.0.4/32");
    expect(JSON.stringify(body)).not.toContain(psk);

    const rows = await t.platform.database.db.select().from(nodes).where(eq(nodes.networkId, net.id));
    expect(rows).toHaveLength(6);
    // Exactly the existing node and the five adopted peers, each with its own key and addresses.
    const byName = (a: (string | null)[], b: (string | null)[]) => a[0]!.localeCompare(b[0]!);
    expect(rows.map((r) => [r.name, r.publicKey, r.ip4, r.ip6]).sort(byName)).toEqual(
      [
        ["existing", existing.node.publicKey, "10.77.0.2", existing.node.ip6],
        ["alice laptop", keys[0], "10.77.0.10", "fd77::10"],
        ["office router", keys[1], "10.77.0.11", null],
        [data.adopted[2].name, keys[2], "10.77.0.12", null],
        ["bob-s phone -old-", keys[3], "10.77.0.13", null],
        ["existing-2", keys[11], "10.77.0.23", null],
      ].sort(byName),
    );
    const alice = rows.find((r) => r.name === "alice laptop")!;
    expect(alice).toMatchObject({
      publicKey: keys[0],
      privateKeyEnc: null,
      tokenHash: null,
      presharedKeyEnc: null,
    });
    expect(alice.id).toBe(data.adopted[0].id);
    const enrolled = (await outboxEvents(t, "node.enrolled")).filter((e) => e.data.via === "adopt");
    expect(enrolled).toHaveLength(5);
    const audit = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, "network.adopted"));
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toEqual({ source: "conf", seen: 12, adopted: 5, refused: 7 });
    expect(existing.node.ip4).toBe("10.77.0.2");
  });

  it("serves an adopted node's config as a template without a private key", async () => {
    const [alice] = await t.platform.database.db.select().from(nodes).where(eq(nodes.publicKey, keys[0]!));
    const res = await t.request(`/api/v1/nodes/${alice!.id}/config`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^Address = 10\.77\.0\.10\//m);
    expect(text).not.toMatch(/^PrivateKey/m);
  });

  it("adopts nothing the second time: every peer is a node already or still refused", async () => {
    const body = await json(await adopt());
    expect(body.data.counts).toEqual({ seen: 12, adopted: 0, refused: 12 });
    expect(body.data.refused.filter((r: Json) => r.reason === "ALREADY_A_NODE")).toHaveLength(5);
    expect(await nodeCount()).toBe(6);
  });
});
