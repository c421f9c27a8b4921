import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { NetworkSpec, NodeSpec } from "../../../src/mesh/render.js";
import { configHash, pairPresharedKey, renderNodeConfig } from "../../../src/mesh/render.js";
import { generatePresharedKey } from "../../../src/wireguard/index.js";

const mesh: NetworkSpec = {
  id: "net",
  name: "office",
  cidr4: "10.10.0.0/24",
  cidr6: null,
  listenPort: 51820,
  endpoint: "vpn.example.com:51820",
  topology: "mesh",
  dns: [],
  mtu: null,
  persistentKeepalive: null,
  hubPublicKey: Buffer.alloc(32, 1).toString("base64"),
  hubIp4: "10.10.0.1",
  hubIp6: null,
};

const node = (n: number, status = "active"): NodeSpec => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  name: `node-${n}`,
  publicKey: Buffer.alloc(32, n + 10).toString("base64"),
  ip4: `10.10.0.${n + 1}`,
  ip6: null,
  endpoint: `192.0.2.${n}:51820`,
  extraAllowedIps: [],
  status,
});

/** Each `[Peer]`'s public key and preshared key, in order. */
const peerKeys = (config: string) =>
  config
    .split("[Peer]")
    .slice(1)
    .map((s) => [/PublicKey = (\S+)/.exec(s)![1], /PresharedKey = (\S+)/.exec(s)?.[1]]);

const secret = generatePresharedKey();
const [a, b, c] = [node(1), node(2), node(3)];
const all = [a, b, c];

describe("pairPresharedKey", () => {
  it("is the same from both ends of a pair, 32 bytes, HMAC-SHA256 of the sorted ids", () => {
    const key = pairPresharedKey(secret, a.id, b.id);
    expect(pairPresharedKey(secret, b.id, a.id)).toBe(key);
    expect(Buffer.from(key, "base64")).toHaveLength(32);
    const expected = createHmac("sha256", Buffer.from(secret, "base64"))
      .update(`${a.id} ${b.id}`)
      .digest("base64");
    expect(key).toBe(expected);
  });

  it("differs per pair and per secret", () => {
    const keys = new Set([
      pairPresharedKey(secret, a.id, b.id),
      pairPresharedKey(secret, a.id, c.id),
      pairPresharedKey(secret, b.id, c.id),
      pairPresharedKey(generatePresharedKey(), a.id, b.id),
    ]);
    expect(keys.size).toBe(4);
  });
});

describe("a mesh config with a pair secret", () => {
  it("gives each node-to-node peer its pair's key, the same in both configs, and the hub peer the node's own", () => {
    const hubKey = generatePresharedKey();
    const ofA = peerKeys(
      renderNodeConfig({ network: mesh, node: a, nodes: all, pairSecret: secret, presharedKey: hubKey }),
    );
    const ofB = peerKeys(renderNodeConfig({ network: mesh, node: b, nodes: all, pairSecret: secret }));
    expect(ofA).toEqual([
      [mesh.hubPublicKey, hubKey],
      [b.publicKey, pairPresharedKey(secret, a.id, b.id)],
      [c.publicKey, pairPresharedKey(secret, a.id, c.id)],
    ]);
    expect(ofB).toEqual([
      [mesh.hubPublicKey, undefined],
      [a.publicKey, pairPresharedKey(secret, a.id, b.id)],
      [c.publicKey, pairPresharedKey(secret, b.id, c.id)],
    ]);
  });

  it("carries only the keys of the node's own pairs", () => {
    const text = renderNodeConfig({ network: mesh, node: a, nodes: all, pairSecret: secret });
    expect(text).not.toContain(pairPresharedKey(secret, b.id, c.id));
    expect(text).not.toContain(secret);
    expect(text.split("PresharedKey = ")).toHaveLength(3);
  });

  it("changes the config hash when the secret rotates, and has no pair keys without a secret or in a hub network", () => {
    const input = { network: mesh, node: a, nodes: all };
    const first = configHash({ ...input, pairSecret: secret });
    expect(configHash({ ...input, pairSecret: secret })).toBe(first);
    expect(configHash({ ...input, pairSecret: generatePresharedKey() })).not.toBe(first);
    expect(renderNodeConfig(input)).not.toContain("PresharedKey");
    const hub = renderNodeConfig({ ...input, network: { ...mesh, topology: "hub" }, pairSecret: secret });
    expect(hub).not.toContain("PresharedKey");
  });

  it("changes the config hash when a peer's id changes under the same public key (its pair key does)", () => {
    const input = { network: mesh, node: a, pairSecret: secret };
    const before = configHash({ ...input, nodes: all });
    const reborn = { ...b, id: "00000000-0000-4000-8000-000000000009" };
    expect(configHash({ ...input, nodes: [a, reborn, c] })).not.toBe(before);
    expect(configHash({ ...input, nodes: all })).not.toBe(configHash({ network: mesh, node: a, nodes: all }));
  });

  it("leaves a disabled node out, key and all", () => {
    const off = node(4, "disabled");
    const text = renderNodeConfig({ network: mesh, node: a, nodes: [...all, off], pairSecret: secret });
    expect(text).not.toContain(pairPresharedKey(secret, a.id, off.id));
  });
});
