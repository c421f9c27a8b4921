/**
 * Relay mode of the agent: each tick it reads the interface, decides each mesh peer's path
 * (relay-path.ts) and acts: points the peer's endpoint at its relay socket or back at its own, pokes
 * it through the tunnel, holds back its relayed packets while trying it directly. Only peers the relay
 * names (nodes of this node's mesh network, never the hub) are ever relayed. The endpoints it chose
 * are what a config apply must keep (`relayEndpoints`).
 */
import dgram from "node:dgram";
import type { Logger } from "../logger.js";
import type { PeerUpdate } from "../wireguard/index.js";
import { checkPlan, openDriver } from "../wireguard/index.js";
import type { RelayLink } from "./relay-link.js";
import type { PathTimings, PeerPath } from "./relay-path.js";
import { nextPath } from "./relay-path.js";
import type { WgQuickConfig } from "./wg-quick.js";

/** The discard port: a poke needs no answer from a program, only from the peer's kernel. */
const POKE_PORT = 9;

export interface RelayModeOptions {
  link: RelayLink;
  iface: string;
  driver: "auto" | "uapi" | "wg";
  timings: PathTimings;
  logger: Logger;
}

export type RelayMode = ReturnType<typeof createRelayMode>;

/** The peer's tunnel address to poke: its first single-host IPv4 allowed IP, else IPv6. */
function tunnelAddress(
  allowedIps: readonly string[],
): { address: string; family: "udp4" | "udp6" } | undefined {
  const v4 = allowedIps.find((ip) => ip.endsWith("/32"));
  if (v4) return { address: v4.slice(0, -3), family: "udp4" };
  const v6 = allowedIps.find((ip) => ip.endsWith("/128"));
  return v6 ? { address: v6.slice(0, -4), family: "udp6" } : undefined;
}

export function createRelayMode(options: RelayModeOptions) {
  const { link, timings } = options;
  const log = options.logger.child({ component: "relay-mode" });
  const paths = new Map<string, PeerPath>();
  let config: WgQuickConfig | undefined;
  const pokers = { udp4: dgram.createSocket("udp4"), udp6: dgram.createSocket("udp6") };
  for (const socket of Object.values(pokers)) socket.on("error", () => {});

  function poke(allowedIps: readonly string[]): void {
    const target = tunnelAddress(allowedIps);
    if (target) pokers[target.family].send(Buffer.from("wiresync-poke"), POKE_PORT, target.address, () => {});
  }

  return {
    /** The config now applied: where each peer is directly, and its tunnel addresses. */
    useConfig(applied: WgQuickConfig): void {
      config = applied;
      link.refresh();
    },

    /** The endpoints a config apply must keep: each relayed peer's relay socket. */
    relayEndpoints(): Map<string, string> {
      const kept = new Map<string, string>();
      for (const [key, path] of paths) {
        const address = link.addressOf(key);
        if (path.mode === "relayed" && address) kept.set(key, address);
      }
      return kept;
    },

    /** One look at the interface and one step for every mesh peer. Call with config applies excluded. */
    async tick(nowMs = Date.now()): Promise<void> {
      if (!config) return;
      const driver = openDriver(options.iface, { driver: options.driver });
      try {
        const state = await driver.dump();
        link.setListenPort(state.listenPort);
        const direct = new Map(config.peers.map((p) => [p.publicKey, p]));
        const updates: PeerUpdate[] = [];
        for (const peer of state.peers) {
          const own = direct.get(peer.publicKey);
          if (!own || !link.eligible.has(peer.publicKey)) continue;
          const path = paths.get(peer.publicKey) ?? { mode: "direct" };
          const relayAddress = link.addressOf(peer.publicKey);
          const step = nextPath(
            path,
            {
              nowMs,
              handshakeAtMs: peer.latestHandshake * 1_000,
              isViaRelay: relayAddress !== undefined && peer.endpoint === relayAddress,
              rxBytes: peer.rxBytes,
              hasDirectEndpoint: own.endpoint !== undefined,
              natTypes: link.natTypesWith(peer.publicKey),
            },
            timings,
          );
          paths.set(peer.publicKey, step.path);
          if (step.endpoint === "relay")
            updates.push({
              publicKey: peer.publicKey,
              endpoint: await link.open(peer.publicKey),
              replaceAllowedIps: false,
            });
          if (step.endpoint === "direct" && own.endpoint)
            updates.push({ publicKey: peer.publicKey, endpoint: own.endpoint, replaceAllowedIps: false });
          link.hold(peer.publicKey, step.path.mode === "probing");
          if (step.poke) poke(peer.allowedIps);
          if (step.path.mode !== path.mode) {
            if (step.path.mode === "direct" && path.mode !== "trying") link.close(peer.publicKey);
            if (step.path.mode === "direct" || step.path.mode === "relayed")
              log.info({ peer: peer.publicKey, from: path.mode, to: step.path.mode }, "peer path changed");
          }
        }
        if (updates.length > 0)
          await driver.apply(
            checkPlan({
              add: [],
              remove: [],
              update: updates,
              unexpected: [],
              reason: `relayEndpoints(${updates.length})`,
            }),
          );
      } finally {
        driver.close();
      }
    },

    stop(): void {
      for (const socket of Object.values(pokers)) socket.close();
    },
  };
}
