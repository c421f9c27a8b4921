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
 * Only the hub's peer carries it: a mesh's node-to-node peers have none.
 */
import { recordAudit } from "../audit/index.js";
import { DomainError } from "../errors.js";
import { generatePresharedKey } from "../wireguard/index.js";
import type { ConfigLinkService } from "./config-links.service.js";
import { actorOf, type MeshContext, type MeshCore } from "./mesh.core.js";
import type { NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import { REKEY_LINK_TTL_SECONDS, type ReissuedConfig } from "./rekey.service.js";
import type { NodeView } from "./views.js";
import { toNodeView } from "./views.js";

/** What turning a node's preshared key on, rotating or off did. */
export interface PresharedKeyChange {
  node: NodeView;
  /** A node whose private key the server holds: how its new config reaches it. */
  delivery: ReissuedConfig["delivery"] | null;
}

export type PresharedKeyService = ReturnType<typeof createPresharedKeyService>;

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
    if (node.email) return { email: node.email };
    return { link: await links.create(node.id, REKEY_LINK_TTL_SECONDS, ctx) };
  }

  return {
    /**
     * Gives the node a fresh preshared key with its hub (on, or rotated when it had one). The key is
     * never in the answer: it is in the node's config. Throws NODE_NOT_FOUND.
     */
    rotate(nodeId: string, ctx: MeshContext): Promise<PresharedKeyChange> {
      return change(nodeId, true, ctx);
    },

    /** Removes the node's preshared key, on the hub and in its config. Throws NODE_NOT_FOUND, CONFLICT (none). */
    remove(nodeId: string, ctx: MeshContext): Promise<PresharedKeyChange> {
      return change(nodeId, false, ctx);
    },
  };
}
