/**
 * Preshared keys between a node and its hub.
 *
 * A preshared key adds a second, symmetric secret to the node's tunnel with its hub (WireGuard mixes
 * it into the handshake). An admin turns it on or rotates it (`rotate`: a fresh 32-byte key, sealed at
 * rest with associated data `node:<id>:psk`) and turns it off (`remove`). Either way the node's config
 * gets a new version (its hub `[Peer]` carries `PresharedKey`), its agent is told at once, and the
 * hub's interface is synced. A node whose key the server holds has its new config reissued like a
 * re-key: by email to its address, or a one-time link in the answer.
 *
 * Who reads the key: an admin and the node itself, in the node's config only. It is never in a node
 * view (only `hasPresharedKey`), an event, an audit entry or a log.
 *
 * Per network (`presharedKeys` on the network): `hub` gives every node a key with its hub (those
 * enrolled later at enrollment, those already there when it is turned on); `all` also gives a mesh's
 * node-to-node peers one, derived per pair from a sealed network secret (`pairPresharedKey` in
 * render.ts, associated data `network:<id>:psk`): each config carries the keys of its own pairs only.
 * `rotateNetwork` gives every hub key and the pair secret a fresh value. Turning the setting `off`
 * drops the pair secret and stops giving keys to new nodes; keys nodes already have stay (remove
 * them per node).
 */
import { recordAudit } from "../audit/index.js";
import type { PresharedKeyMode, Tx } from "../db/index.js";
import { DomainError } from "../errors.js";
import { generatePresharedKey } from "../wireguard/index.js";
import type { ConfigLinkService } from "./config-links.service.js";
import type { MeshEffects } from "./effects.js";
import { actorOf, type MeshContext, type MeshCore } from "./mesh.core.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import { type ReissuedConfig, reissue } from "./rekey.service.js";
import type { NetworkView, NodeView } from "./views.js";
import { toNetworkView, toNodeView } from "./views.js";

/** What turning a node's preshared key on, rotating or off did. */
export interface PresharedKeyChange {
  node: NodeView;
  /** A node whose private key the server holds: how its new config reaches it. */
  delivery: ReissuedConfig["delivery"] | null;
}

/** What a network-wide change of preshared keys did (a rotation, or the setting turned on). */
export interface NetworkPresharedKeyChange {
  network: NetworkView;
  /** Nodes given a fresh key with their hub. */
  nodesKeyed: number;
  /** Every enabled node whose key the server holds and whose config changed: how it gets it. */
  reissued: ReissuedConfig[];
}

export type PresharedKeyService = ReturnType<typeof createPresharedKeyService>;

/**
 * In `tx`, with the network locked: gives each of `nodes` a fresh preshared key with its hub. Returns
 * how many. The caller refreshes the configs.
 */
export async function givePresharedKeys(
  core: Pick<MeshCore, "sealPresharedKey">,
  tx: Tx,
  nodes: readonly Pick<NodeRow, "id">[],
): Promise<number> {
  await repo.setPresharedKeys(
    tx,
    nodes.map((n) => ({ id: n.id, presharedKeyEnc: core.sealPresharedKey(n.id, generatePresharedKey()) })),
  );
  return nodes.length;
}

/**
 * In `tx`, with the network locked: what turning `network`'s preshared keys to `mode` writes, before
 * the configs are refreshed. Any mode but `off` gives every node without a hub key one; `all` keeps
 * the pair secret (or makes one), any other mode drops it. Returns the network's new columns and how
 * many nodes were keyed.
 */
export async function applyPresharedKeyMode(
  core: Pick<MeshCore, "sealPresharedKey" | "sealPairSecret">,
  tx: Tx,
  network: NetworkRow,
  mode: PresharedKeyMode,
): Promise<{ columns: Pick<NetworkRow, "presharedKeys" | "presharedKeySecretEnc">; nodesKeyed: number }> {
  const unkeyed =
    mode === "off"
      ? []
      : (await repo.nodesOfNetwork(tx, network.id)).filter((n) => n.presharedKeyEnc === null);
  const presharedKeySecretEnc =
    mode === "all"
      ? (network.presharedKeySecretEnc ?? core.sealPairSecret(network.id, generatePresharedKey()))
      : null;
  return {
    columns: { presharedKeys: mode, presharedKeySecretEnc },
    nodesKeyed: await givePresharedKeys(core, tx, unkeyed),
  };
}

/**
 * In `tx`, after the configs were refreshed into `effects`: the enabled nodes whose key the server
 * holds and whose config changed. Those with an email address are told (`node.updated` with
 * `newConfig`, which emails it); the rest need a one-time link, made after the commit (`reissue`).
 */
export async function serverHeldChanged(
  core: Pick<MeshCore, "emitNodeEvent">,
  tx: Tx,
  network: NetworkRow,
  effects: MeshEffects,
  ctx: MeshContext,
): Promise<NodeRow[]> {
  if (effects.pushConfigs.size === 0) return [];
  const changed = (await repo.nodesOfNetwork(tx, network.id)).filter(
    (n) => effects.pushConfigs.has(n.id) && n.privateKeyEnc !== null && n.status !== "disabled",
  );
  for (const n of changed.filter((m) => m.email)) {
    const extra = { changed: ["presharedKey"], newConfig: true };
    await emitNodeEvent(core, tx, n, network, extra, ctx);
  }
  return changed;
}

const emitNodeEvent = (
  core: Pick<MeshCore, "emitNodeEvent">,
  tx: Tx,
  n: NodeRow,
  network: NetworkRow,
  extra: Record<string, unknown>,
  ctx: MeshContext,
) => core.emitNodeEvent(tx, "node.updated", n, network, extra, actorOf(ctx));

/** Preshared keys per node (see the module doc). */
export function createPresharedKeyService(core: MeshCore, links: ConfigLinkService) {
  const { commitAndDispatch, requireNode, requireNetwork, refreshConfigs, emitNodeEvent, sealPresharedKey } =
    core;

  async function change(nodeId: string, on: boolean, ctx: MeshContext): Promise<PresharedKeyChange> {
    const action = on ? "node.preshared-key-rotated" : "node.preshared-key-removed";
    const row = await commitAndDispatch(`node ${nodeId} ${action}`, async (tx, effects) => {
      const node = await requireNode(tx, nodeId, true);
      const network = await requireNetwork(tx, node.networkId, true);
      if (!on && node.presharedKeyEnc === null) {
        throw new DomainError("CONFLICT", "this node has no preshared key");
      }
      // The network's setting promises every node a key: one node without would break it silently.
      if (!on && network.presharedKeys !== "off") {
        throw new DomainError(
          "CONFLICT",
          `network ${network.name} gives every node a preshared key (presharedKeys "${network.presharedKeys}"): set it to "off" with PATCH /api/v1/networks/${network.id} first`,
        );
      }
      const presharedKeyEnc = on ? sealPresharedKey(nodeId, generatePresharedKey()) : null;
      await repo.updateNode(tx, nodeId, { presharedKeyEnc, presharedKeyManaged: true });
      await refreshConfigs(tx, network, effects, new Set([nodeId]));
      effects.syncNetworks.add(network.id);
      // Read again: the refresh bumped the config version.
      const updated = (await repo.getNode(tx, nodeId))!;
      await recordAudit(tx, {
        actor: actorOf(ctx),
        action,
        entityType: "node",
        entityId: nodeId,
        details: { networkId: network.id, hadPresharedKey: node.presharedKeyEnc !== null },
        requestId: ctx.requestId ?? null,
      });
      // `newConfig`: a node whose key the server holds gets its new config by email (src/notify).
      const extra = {
        changed: ["presharedKey"],
        newConfig: updated.privateKeyEnc !== null && updated.status !== "disabled",
      };
      await emitNodeEvent(tx, "node.updated", updated, network, extra, actorOf(ctx));
      return updated;
    });
    return { node: toNodeView(row), delivery: await deliver(row, ctx) };
  }

  /** A server-held node's new config: by email to its address, or a one-time link (made after the commit). */
  async function deliver(node: NodeRow, ctx: MeshContext): Promise<PresharedKeyChange["delivery"]> {
    if (node.privateKeyEnc === null || node.status === "disabled") return null;
    const [reissued] = await reissue(links, [node], ctx);
    return reissued!.delivery;
  }

  return {
    /**
     * Gives every preshared key of the network a fresh value: each node's with its hub (every node
     * that has one, and every node when the setting is on) and, with `all`, the pair secret of the
     * mesh's node-to-node keys. Every config that changes gets a new version, the hub is synced, and
     * server-held nodes get their new config by email or one-time link. Throws NETWORK_NOT_FOUND,
     * CONFLICT (the network has no preshared keys).
     */
    async rotateNetwork(networkId: string, ctx: MeshContext): Promise<NetworkPresharedKeyChange> {
      const result = await commitAndDispatch(
        `network ${networkId} preshared keys rotated`,
        async (tx, effects) => {
          const network = await requireNetwork(tx, networkId, true);
          const all = await repo.nodesOfNetwork(tx, networkId);
          const keyed = network.presharedKeys === "off" ? all.filter((n) => n.presharedKeyEnc !== null) : all;
          const secret = network.presharedKeys === "all";
          if (keyed.length === 0 && !secret) {
            throw new DomainError(
              "CONFLICT",
              "this network has no preshared keys: turn them on with PATCH presharedKeys, or per node",
            );
          }
          const nodesKeyed = await givePresharedKeys(core, tx, keyed);
          const row = secret
            ? (await repo.updateNetwork(tx, networkId, {
                presharedKeySecretEnc: core.sealPairSecret(networkId, generatePresharedKey()),
              }))!
            : network;
          await refreshConfigs(tx, row, effects);
          effects.syncNetworks.add(networkId);
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "network.preshared-keys-rotated",
            entityType: "network",
            entityId: networkId,
            details: { mode: row.presharedKeys, nodesKeyed, pairSecretRotated: secret },
            requestId: ctx.requestId ?? null,
          });
          const serverHeld = await serverHeldChanged(core, tx, row, effects, ctx);
          return { row, nodesKeyed, serverHeld };
        },
      );
      return {
        network: toNetworkView(result.row),
        nodesKeyed: result.nodesKeyed,
        // Made after the commit: a link's own unit of work must not wait on the rotation's.
        reissued: await reissue(links, result.serverHeld, ctx),
      };
    },

    /**
     * Gives the node a fresh preshared key with its hub (on, or rotated when it had one). The key is
     * never in the answer: it is in the node's config. Throws NODE_NOT_FOUND.
     */
    rotate(nodeId: string, ctx: MeshContext): Promise<PresharedKeyChange> {
      return change(nodeId, true, ctx);
    },

    /**
     * Removes the node's preshared key, on the hub and in its config. Throws NODE_NOT_FOUND, CONFLICT
     * (none, or the network's `presharedKeys` setting gives every node one).
     */
    remove(nodeId: string, ctx: MeshContext): Promise<PresharedKeyChange> {
      return change(nodeId, false, ctx);
    },
  };
}
