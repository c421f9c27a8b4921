import { describe, expect, it } from "vitest";
import { hubKeyPlan, hubKeyStep, nextHubKeyOf, withNextHubPeer } from "../../../src/agent/hub-rotation.js";
import type { WgQuickConfig } from "../../../src/agent/wg-quick.js";
import { parseWgQuickConfig } from "../../../src/agent/wg-quick.js";
import { renderNodeConfig } from "../../../src/mesh/index.js";
import { generateKeyPair } from "../../../src/wireguard/index.js";

const OLD = generateKeyPair().publicKey;
const NEXT = generateKeyPair().publicKey;
const NODE = generateKeyPair().publicKey;

const network = {
  id: "00000000-0000-4000-8000-000000000001",
  name: "net",
  cidr4: "10.9.0.0/24",
  cidr6: null,
  listenPort: 51820,
  endpoint: "hub.example.com:51820",
  topology: "hub" as const,
  dns: [],
  mtu: null,
  persistentKeepalive: 25,
  hubPublicKey: OLD,
  hubIp4: "10.9.0.1",
  hubIp6: null,
};
const node = {
  id: "00000000-0000-4000-8000-000000000002",
  name: "n",
  publicKey: NODE,
  ip4: "10.9.0.2",
  ip6: null,
  endpoint: null,
  extraAllowedIps: [],
  status: "online",
};
const render = (over: Partial<typeof network> & { nextHubPublicKey?: string | null } = {}) =>
  renderNodeConfig({ network: { ...network, ...over }, node, nodes: [node] });

describe("the next hub key in a config", () => {
  it("is named in a comment of the hub's peer while a rotation is under way, and read back", () => {
    const text = render({ nextHubPublicKey: NEXT });
    expect(text).toContain(`# NextHubPublicKey = ${NEXT}\n`);
    expect(nextHubKeyOf(text)).toBe(NEXT);
    // wg-quick (and the agent's parser) ignore it: the hub is still the only peer.
    expect(parseWgQuickConfig(text).peers.map((p) => p.publicKey)).toEqual([OLD]);
  });

  it("is absent otherwise", () => {
    expect(nextHubKeyOf(render())).toBeUndefined();
    expect(nextHubKeyOf(render({ nextHubPublicKey: null }))).toBeUndefined();
    expect(render()).not.toContain("NextHubPublicKey");
  });

  it("becomes a second hub peer without addresses or keepalive, with the hub's endpoint", () => {
    const config = parseWgQuickConfig(render({ nextHubPublicKey: NEXT }));
    const out = withNextHubPeer(config, NEXT);
    expect(out.peers).toEqual([
      config.peers[0],
      {
        publicKey: NEXT,
        allowedIps: [],
        endpoint: "hub.example.com:51820",
        persistentKeepalive: undefined,
        presharedKey: undefined,
      },
    ]);
    expect(withNextHubPeer(config, undefined)).toBe(config);
    expect(withNextHubPeer(config, OLD)).toBe(config);
  });
});

describe("hubKeyPlan", () => {
  const pending = parseWgQuickConfig(render({ nextHubPublicKey: NEXT }));
  const switched: WgQuickConfig = parseWgQuickConfig(render({ hubPublicKey: NEXT }));

  it("follows the next key a config names", () => {
    const out = hubKeyPlan({ config: pending, named: NEXT, hubPublicKey: OLD, nextHubPublicKey: undefined });
    expect(out.hubPublicKey).toBe(OLD);
    expect(out.nextHubPublicKey).toBe(NEXT);
    expect(out.held).toBe(false);
    expect(out.config.peers.map((p) => [p.publicKey, p.allowedIps])).toEqual([
      [OLD, ["10.9.0.0/24"]],
      [NEXT, []],
    ]);
  });

  it("keeps the previous hub key's addresses when the config names the new key before it shook hands", () => {
    const out = hubKeyPlan({ config: switched, named: undefined, hubPublicKey: OLD, nextHubPublicKey: NEXT });
    expect(out.hubPublicKey).toBe(OLD);
    expect(out.nextHubPublicKey).toBe(NEXT);
    expect(out.held).toBe(true);
    expect(out.config.peers.map((p) => [p.publicKey, p.allowedIps, p.persistentKeepalive])).toEqual([
      [OLD, ["10.9.0.0/24"], 25],
      [NEXT, [], undefined],
    ]);
  });

  it("applies a config as it is once the move is done, or without a rotation", () => {
    expect(
      hubKeyPlan({ config: switched, named: undefined, hubPublicKey: NEXT, nextHubPublicKey: undefined }),
    ).toEqual({ config: switched, hubPublicKey: NEXT, nextHubPublicKey: undefined, held: false });
    // A fresh agent (nothing followed yet) takes the config's hub.
    expect(
      hubKeyPlan({
        config: switched,
        named: undefined,
        hubPublicKey: undefined,
        nextHubPublicKey: undefined,
      }),
    ).toEqual({ config: switched, hubPublicKey: NEXT, nextHubPublicKey: undefined, held: false });
  });
});

describe("hubKeyStep", () => {
  const peer = (publicKey: string, allowedIps: string[], latestHandshake: number, ka: number | null) => ({
    publicKey,
    allowedIps,
    latestHandshake,
    persistentKeepalive: ka,
  });

  it("waits while the next key has no handshake", () => {
    const peers = [peer(OLD, ["10.9.0.0/24"], 1_700_000_000, 25), peer(NEXT, [], 0, null)];
    expect(hubKeyStep({ hubPublicKey: OLD, nextHubPublicKey: NEXT, peers })).toEqual({ kind: "wait" });
    expect(hubKeyStep({ hubPublicKey: OLD, nextHubPublicKey: NEXT, peers: [peers[0]!] })).toEqual({
      kind: "wait",
    });
  });

  it("moves the addresses and keepalive to the next key and removes the old one in one plan", () => {
    const peers = [
      peer(OLD, ["10.9.0.0/24", "10.8.0.0/16"], 1_700_000_000, 25),
      peer(NEXT, [], 1_700_000_100, null),
    ];
    expect(hubKeyStep({ hubPublicKey: OLD, nextHubPublicKey: NEXT, peers })).toEqual({
      kind: "move",
      plan: {
        add: [],
        remove: [OLD],
        update: [
          {
            publicKey: NEXT,
            replaceAllowedIps: true,
            allowedIps: ["10.9.0.0/24", "10.8.0.0/16"],
            persistentKeepalive: 25,
          },
        ],
        unexpected: [],
        reason: "hubKeySwitch",
      },
    });
  });

  it("is done when the old key is gone", () => {
    const peers = [peer(NEXT, ["10.9.0.0/24"], 1_700_000_100, 25)];
    expect(hubKeyStep({ hubPublicKey: OLD, nextHubPublicKey: NEXT, peers })).toEqual({ kind: "done" });
  });
});
