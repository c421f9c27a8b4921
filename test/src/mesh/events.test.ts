import { describe, expect, it } from "vitest";
import { sanitizeEventData } from "../../../src/events/index.js";
import { changedFields, nodeEventData } from "../../../src/mesh/index.js";

/** A whole node row: the events must carry only its public facts whatever else it holds. */
type NodeRow = Parameters<typeof changedFields>[0] & Parameters<typeof nodeEventData>[0];

const PRIVATE_ENC = "v1.k1.c2VhbGVkLXByaXZhdGUta2V5";
const TOKEN_HASH = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

const row: NodeRow = {
  id: "7d3f4c1e-0000-4000-8000-000000000001",
  networkId: "7d3f4c1e-0000-4000-8000-0000000000aa",
  name: "laptop",
  email: "ada@example.com",
  publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
  privateKeyEnc: PRIVATE_ENC,
  presharedKeyEnc: "v1.k1.cHJlc2hhcmVk",
  ip4: "10.8.0.2/32",
  ip6: "fd00::2/128",
  endpoint: "203.0.113.5:51820",
  extraAllowedIps: [],
  natType: "symmetric",
  networkInfo: { ipv4: "198.51.100.7", natType: "symmetric" },
  capabilities: {},
  location: { country: "NL" },
  metrics: {},
  tags: ["a"],
  role: "peer",
  status: "online",
  lastSeenAt: new Date("2026-01-01T00:00:00Z"),
  lastHandshakeAt: null,
  configVersion: 3,
  configHash: "abc",
  configPushedVersion: 3,
  tokenHash: TOKEN_HASH,
  enrollmentKeyId: null,
  createdAt: new Date("2026-01-01T00:00:00Z"),
  updatedAt: new Date("2026-01-01T00:00:00Z"),
};
const network = { id: row.networkId, name: "office" };

describe("nodeEventData", () => {
  it("carries the node's public identity and its network, and nothing secret", () => {
    const data = nodeEventData(row, network, { via: "api" });
    expect(data).toEqual({
      via: "api",
      node: {
        id: row.id,
        name: "laptop",
        email: "ada@example.com",
        networkId: row.networkId,
        ip4: "10.8.0.2",
        hasServerKey: true,
      },
      network: { id: row.networkId, name: "office" },
    });
    const text = JSON.stringify(data);
    for (const secret of [PRIVATE_ENC, row.presharedKeyEnc!, TOKEN_HASH]) expect(text).not.toContain(secret);
    // Nothing the outbox's guard would have to drop.
    expect(sanitizeEventData(data).dropped).toEqual([]);
  });

  it("leaves out a missing email and says when the server holds no key", () => {
    const data = nodeEventData({ ...row, email: null, privateKeyEnc: null }, network);
    expect(data.node).not.toHaveProperty("email");
    expect(data.node.hasServerKey).toBe(false);
  });

  it("cannot let extra fields replace the node or the network", () => {
    const data = nodeEventData(row, network, { node: { id: "forged" }, network: { name: "forged" } });
    expect(data.node.id).toBe(row.id);
    expect(data.network.name).toBe("office");
  });
});

describe("changedFields", () => {
  it.each<[string, Partial<NodeRow>, string[]]>([
    ["an empty patch changes nothing", {}, []],
    [
      "values equal to the current ones change nothing",
      { name: "laptop", tags: ["a"], email: "ada@example.com" },
      [],
    ],
    ["undefined values are not changes", { name: undefined }, []],
    ["a new name and new tags are named, sorted", { tags: ["a", "b"], name: "desk" }, ["name", "tags"]],
    ["clearing the email is a change", { email: null }, ["email"]],
    ["a new public key is named, never its value", { publicKey: "other=" }, ["publicKey"]],
    ["jsonb key order is not a change", { networkInfo: { natType: "symmetric", ipv4: "198.51.100.7" } }, []],
    ["a changed nested value is a change", { location: { country: "DE" } }, ["location"]],
  ])("%s", (_name, patch, expected) => {
    expect(changedFields(row, patch)).toEqual(expected);
  });
});
