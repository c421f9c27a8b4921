/** Configs: a node's wg-quick text and QR, the hub side of a network, config pushes to agents. */
import type { DesiredPeer } from "../wireguard/index.js";
import { dispatchEffects, newEffects } from "./effects.js";
import { HubPeerMemo } from "./hub-peers.js";
import {
  configQr,
  type HubState,
  type MeshContext,
  type MeshCore,
  type NodeConfigBundle,
  networkNotFound,
  type RenderedConfig,
  UUID_PATTERN,
} from "./mesh.core.js";
import * as repo from "./mesh.repo.js";
import { rotatingKeys } from "./rekey.repo.js";
import { desiredHubPeers } from "./render.js";
import { toNetworkView } from "./views.js";

export type ConfigService = ReturnType<typeof createConfigService>;

/** Configs: wg-quick text and QR for a node, the hub side of a network, and config pushes. */
export function createConfigService(core: MeshCore) {
  const {
    report,
    openHubKey,
    openPresharedKey,
    requireNetwork,
    staleConfigs,
    refreshConfigs,
    commitAndDispatch,
    requireConfigReader,
    renderFor,
    requireNode,
    db,
    deps,
  } = core;
  return {
    /**
     * The node's current config version: one row read, for an agent's stream to start from (the
     * full node view also reads the network and, in a mesh, every node). Throws NODE_NOT_FOUND.
     */
    async configVersion(nodeId: string): Promise<number> {
      return (await requireNode(db, nodeId)).configVersion;
    },

    /** The public side of every network: what a node needs to reach its hub. */
    async publicConfig() {
      return (await repo.listNetworks(db)).map((n) => ({
        networkId: n.id,
        name: n.name,
        publicKey: n.hubPublicKey,
        endpoint: n.endpoint,
        listenPort: n.listenPort,
        cidr4: n.cidr4,
        cidr6: n.cidr6,
      }));
    },

    /**
     * The node's wg-quick config, private key included when the server holds it, for an admin or the
     * node's own token (each such download with a key is audited). Throws NODE_NOT_FOUND, FORBIDDEN.
     */
    async renderConfig(nodeId: string, ctx: MeshContext): Promise<RenderedConfig> {
      const subject = await requireConfigReader(nodeId, ctx, "conf");
      return renderFor(db, subject.node, true, subject);
    },

    /** A PNG QR code of the node's config, for the WireGuard mobile apps; same rules as `renderConfig`. */
    async renderConfigQr(
      nodeId: string,
      ctx: MeshContext,
    ): Promise<{ png: Buffer; version: number; filename: string; networkId: string }> {
      const subject = await requireConfigReader(nodeId, ctx, "qr");
      const config = await renderFor(db, subject.node, true, subject);
      const png = await configQr(config.text);
      return {
        png,
        version: config.version,
        filename: config.filename.replace(/\.conf$/, ".png"),
        networkId: config.networkId,
      };
    },

    /**
     * The mesh side of the `NodeConfigSource` port of node-config emails: a node's config, private
     * key included, and its QR code. Only the email to the node's owner may carry it. `configFor`
     * answers undefined when the node is gone or the server does not hold its private key.
     */
    configSource(): { configFor(nodeId: string): Promise<NodeConfigBundle | undefined> } {
      return {
        async configFor(nodeId) {
          if (!UUID_PATTERN.test(nodeId)) return undefined;
          const node = await repo.getNode(db, nodeId);
          if (!node?.privateKeyEnc) return undefined;
          const config = await renderFor(db, node, true);
          return {
            nodeName: node.name,
            networkName: config.networkName,
            filename: config.filename,
            text: config.text,
            qrPng: await configQr(config.text),
          };
        },
      };
    },

    /**
     * Brings every node config of a network up to date: bumps the version of each config that changed
     * and announces every version the node's agent has not been told of yet. Returns how many
     * announcements were queued. Throws NETWORK_NOT_FOUND.
     */
    async pushConfigs(networkId: string): Promise<number> {
      const reason = `configs of network ${networkId}`;
      // Checked first without the network's lock: at a scheduled sync no config has usually changed,
      // and hashing thousands of them under the lock held every enrollment of the network back.
      // A change made meanwhile refreshes its own configs under the lock.
      const network = await requireNetwork(db, networkId);
      if (staleConfigs(network, await repo.configRows(db, networkId)).length === 0) {
        const effects = newEffects(reason);
        for (const n of await repo.unpushedConfigs(db, networkId)) effects.pushConfigs.set(n.id, n.version);
        await dispatchEffects(deps.queue, effects, report);
        return effects.pushConfigs.size;
      }
      return commitAndDispatch(reason, async (tx, effects) => {
        await refreshConfigs(tx, await requireNetwork(tx, networkId, true), effects);
        for (const n of await repo.unpushedConfigs(tx, networkId))
          if (!effects.pushConfigs.has(n.id)) effects.pushConfigs.set(n.id, n.version);
        return effects.pushConfigs.size;
      });
    },

    /**
     * The hub peers of up to `limit` nodes pending in the network (`pending_joins`), for a targeted
     * apply, in one statement: read from the database now, so a node deleted meanwhile is absent
     * (its row went with it) and a disabled one is in `nodeIds` but not in `peers`. `nodeIds` are
     * the rows read (oldest first), to delete once applied. `networkName` is null when no row was
     * read; `routes` is true when an active node read carries routes behind it (the interface's
     * routes must change too: a full sync's work).
     */
    async pendingHubPeers(
      networkId: string,
      limit: number,
    ): Promise<{
      nodeIds: string[];
      networkName: string | null;
      peers: DesiredPeer[];
      routes: boolean;
    }> {
      const rows = await repo.pendingJoinedPeers(db, networkId, limit);
      return {
        nodeIds: rows.map((r) => r.id),
        networkName: rows[0]?.networkName ?? null,
        peers: desiredHubPeers(rows, (n) =>
          n.presharedKeyManaged ? (openPresharedKey(n.id, n.presharedKeyEnc) ?? null) : undefined,
        ),
        routes: rows.some((r) => r.extraAllowedIps.length > 0 && r.status !== "disabled"),
      };
    },

    /** The ids of every node pending in the network (`pending_joins`), for a full sync to delete after. */
    pendingJoinIds(networkId: string): Promise<string[]> {
      return repo.pendingJoinIds(db, networkId);
    },

    /**
     * Deletes the pending joins of `nodeIds` in the network once a write carried their peers (or
     * nothing had to be written for them). Rows committed since they were read stay.
     */
    async pendingJoinsApplied(networkId: string, nodeIds: readonly string[]): Promise<void> {
      await repo.deletePendingJoins(db, networkId, nodeIds);
    },

    /** Deletes every pending join of the network: no hub interface of it is managed by this worker. */
    dropPendingJoins(networkId: string): Promise<void> {
      return repo.deleteAllPendingJoins(db, networkId);
    },

    /**
     * What a network's hub interface must hold: its nodes' peers, and the previous key of each node
     * whose re-key the hub has not yet seen a handshake of, without addresses (see rekey.service.ts).
     * `hubPeers`, the caller's memo of this network's last read, makes only the nodes that changed
     * since cost a parse (the peer sync keeps one per interface, and drops it with the network);
     * without one every node's line is parsed. Throws NETWORK_NOT_FOUND.
     */
    async hubState(networkId: string, hubPeers: HubPeerMemo = new HubPeerMemo()): Promise<HubState> {
      const [network, rows, retired, rotating] = await Promise.all([
        repo.getNetwork(db, networkId),
        repo.hubPeerRows(db, networkId),
        repo.retiredKeys(db, networkId),
        rotatingKeys(db, networkId),
      ]);
      if (!network) networkNotFound(networkId);
      const peers = [
        // A node whose preshared key wiresync manages has exactly its own (or none) on the hub.
        ...hubPeers.read(rows, (n) =>
          n.presharedKeyManaged ? (openPresharedKey(n.id, n.presharedKeyEnc) ?? null) : undefined,
        ),
        ...rotating.map((r) => ({ publicKey: r.previousPublicKey, allowedIps: [], endpoint: r.endpoint })),
      ];
      const desiredKeys = new Set(peers.map((p) => p.publicKey));
      return {
        network: toNetworkView(network),
        hubPrivateKey: openHubKey(network.id, network.hubPrivateKeyEnc),
        peers,
        retired: retired.filter((k) => !desiredKeys.has(k)),
      };
    },
  };
}
