/**
 * The agent's side of a hub key rotation. Pure.
 *
 * While a rotation is under way the node's config names the hub's next key in a comment
 * (`NEXT_HUB_KEY_PREFIX`, written by src/mesh/render.ts). The agent adds that key as a second hub
 * peer: the hub's endpoint and preshared key, no allowed IPs, so no packet goes to it. When the hub
 * switches to the next key it shakes hands with every peer at once; as soon as the agent's interface
 * shows that handshake, the agent moves the hub's allowed IPs to the new key and drops the old one,
 * in one write (`hubKeyStep`).
 */
import type { WgPeer, WgPlan } from "../wireguard/index.js";
import type { WgQuickConfig, WgQuickPeer } from "./wg-quick.js";

/** Keep in step with `NEXT_HUB_KEY_PREFIX` of src/mesh/render.ts. */
export const NEXT_HUB_KEY_PREFIX = "# NextHubPublicKey = ";

/** The hub's next key named in a config's text, if a rotation is under way. */
export function nextHubKeyOf(text: string): string | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith(NEXT_HUB_KEY_PREFIX)) {
      const key = line.slice(NEXT_HUB_KEY_PREFIX.length).trim();
      return key.length > 0 ? key : undefined;
    }
  }
  return undefined;
}

/**
 * The config with the hub's next key as a second hub peer (the hub is the config's first peer), or
 * the config itself when it names no next key (or the next key is the hub's already).
 */
export function withNextHubPeer(config: WgQuickConfig, nextHubPublicKey: string | undefined): WgQuickConfig {
  const hub = config.peers[0];
  if (!hub || !nextHubPublicKey || nextHubPublicKey === hub.publicKey) return config;
  if (config.peers.some((p) => p.publicKey === nextHubPublicKey)) return config;
  const next: WgQuickPeer = {
    publicKey: nextHubPublicKey,
    allowedIps: [],
    endpoint: hub.endpoint,
    // No keepalive: the node never starts a handshake with a key the hub does not hold yet.
    persistentKeepalive: undefined,
    presharedKey: hub.presharedKey,
  };
  return { ...config, peers: [...config.peers, next] };
}

/**
 * How to apply a config during a hub key rotation, from the config (its hub is its first peer, and
 * `named` the next key its text names) and what the agent followed so far (`hubPublicKey`, and
 * `nextHubPublicKey` while a rotation is under way). Three cases:
 * - the config names a next key: its hub stays, the next key is a second hub peer without addresses;
 * - the config's hub is the next key the agent is waiting for (the server switched, but this node
 *   has not seen the new key shake hands yet): the previous hub key keeps the addresses, the new one
 *   none, and the agent keeps waiting, so nothing goes to a hub that may not hold the key yet;
 * - otherwise the config as it is.
 * Returns the config to apply, the keys to follow afterwards, and whether the config was held back
 * (the second case: the interface already is as it must stay until the new key has shaken hands).
 */
export function hubKeyPlan(input: {
  config: WgQuickConfig;
  named: string | undefined;
  hubPublicKey: string | undefined;
  nextHubPublicKey: string | undefined;
}): {
  config: WgQuickConfig;
  hubPublicKey: string | undefined;
  nextHubPublicKey: string | undefined;
  held: boolean;
} {
  const { config } = input;
  const hub = config.peers[0];
  if (!hub) return { config, hubPublicKey: undefined, nextHubPublicKey: undefined, held: false };
  if (
    input.hubPublicKey !== undefined &&
    input.nextHubPublicKey === hub.publicKey &&
    input.hubPublicKey !== hub.publicKey
  ) {
    const held: WgQuickConfig = {
      ...config,
      peers: [{ ...hub, publicKey: input.hubPublicKey }, ...config.peers.slice(1)],
    };
    return {
      config: withNextHubPeer(held, hub.publicKey),
      hubPublicKey: input.hubPublicKey,
      nextHubPublicKey: hub.publicKey,
      held: true,
    };
  }
  const next = input.named !== hub.publicKey ? input.named : undefined;
  return {
    config: withNextHubPeer(config, next),
    hubPublicKey: hub.publicKey,
    nextHubPublicKey: next,
    held: false,
  };
}

export type HubKeyStep =
  /** The next key has not shaken hands yet (the hub has not switched), or is not on the interface. */
  | { kind: "wait" }
  /** The old hub key is gone from the interface: nothing left to do. */
  | { kind: "done" }
  /** The next key shook hands: apply `plan` (one write) to move the hub's addresses to it. */
  | { kind: "move"; plan: WgPlan };

/**
 * What to do about a rotation, from the interface as read: move the old hub peer's allowed IPs and
 * keepalive to the next key's peer once that peer has a handshake, and remove the old one.
 */
export function hubKeyStep(input: {
  hubPublicKey: string;
  nextHubPublicKey: string;
  peers: readonly Pick<WgPeer, "publicKey" | "allowedIps" | "latestHandshake" | "persistentKeepalive">[];
}): HubKeyStep {
  const next = input.peers.find((p) => p.publicKey === input.nextHubPublicKey);
  const old = input.peers.find((p) => p.publicKey === input.hubPublicKey);
  if (!old) return { kind: "done" };
  if (!next || next.latestHandshake === 0) return { kind: "wait" };
  return {
    kind: "move",
    plan: {
      add: [],
      remove: [old.publicKey],
      update: [
        {
          publicKey: next.publicKey,
          replaceAllowedIps: true,
          allowedIps: [...old.allowedIps],
          persistentKeepalive: old.persistentKeepalive ?? 0,
        },
      ],
      unexpected: [],
      reason: "hubKeySwitch",
    },
  };
}
