/** Nodes once enrolled: list, read, change and delete them (see enrollment.service.ts for joining). */
import { recordAudit } from "../audit/index.js";
import type { DisabledReason, Tx } from "../db/index.js";
import { DomainError } from "../errors.js";
import { addressOnly, contains, ipToBigInt, parseCidr } from "./cidr.js";
import type { MeshEffects } from "./effects.js";
import { changedFields } from "./events.js";
import { usableRange } from "./ipam.js";
import { actorOf, hubKeyTaken, type MeshContext, type MeshCore, translateConstraint } from "./mesh.core.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import type { NodeListQuery, UpdateNodeInput } from "./mesh.schema.js";
import { meshPeerReach } from "./render.js";
import type { NodeView } from "./views.js";
import { toNetworkSpec, toNodeSpec, toNodeView } from "./views.js";

export type NodeService = ReturnType<typeof createNodeService>;

/**
 * Disables a node (`reason` given: its peer leaves the hub at the next sync) or enables it again
 * (`reason` null: status `pending` until it is seen), in the caller's unit of work: its config is
 * refreshed and the network's sync queued through `effects`. Audit and events are the caller's.
 * Returns the changed row.
 */
export async function setNodeDisabled(
  core: MeshCore,
  tx: Tx,
  effects: MeshEffects,
  node: NodeRow,
  network: NetworkRow,
  reason: DisabledReason | null,
): Promise<NodeRow> {
  const row = (await repo.updateNode(tx, node.id, {
    status: reason === null ? "pending" : "disabled",
    disabledReason: reason,
  }))!;
  if (reason === null) await repo.unretirePeer(tx, network.id, row.publicKey);
  else await repo.retirePeers(tx, network.id, [row.publicKey]);
  await core.refreshConfigs(tx, network, effects, new Set([node.id]));
  effects.syncNetworks.add(network.id);
  return row;
}

/**
 * Checks the addresses a node moves to (`ip4`, `ip6` of `patch`, where given): inside the
 * network's range and usable there (ADDRESS_OUTSIDE_NETWORK, 422), not the hub's and no other
 * node's (ADDRESS_TAKEN, 409). Run under the network's exclusive lock, which every enrollment waits
 * for (they hold it shared while they allocate), so no enrollment takes the address meanwhile; an
 * insert of another process that got there first still ends at the address's unique constraint.
 */
async function assertAddressesFree(
  tx: Tx,
  network: NetworkRow,
  node: NodeRow,
  patch: { ip4?: string | undefined; ip6?: string | null | undefined },
): Promise<void> {
  const wanted: { ip: string; family: 4 | 6 }[] = [];
  if (patch.ip4 !== undefined) wanted.push({ ip: patch.ip4, family: 4 });
  if (patch.ip6 !== undefined && patch.ip6 !== null) wanted.push({ ip: patch.ip6, family: 6 });
  if (wanted.length === 0) return;
  const others = await repo.usedAddresses(tx, network.id);
  for (const { ip, family } of wanted) {
    const range = family === 4 ? network.cidr4 : network.cidr6;
    const c = range ? parseCidr(range) : null;
    const { first, last } = c ? usableRange(c) : { first: 0n, last: -1n };
    const value = c && contains(c, ip) ? ipToBigInt(ip).value : null;
    if (!c || value === null || value < first || value > last) {
      throw new DomainError(
        "ADDRESS_OUTSIDE_NETWORK",
        range
          ? `${ip} is not a usable address of ${range}, the network's IPv${family} range`
          : `network ${network.name} has no IPv6 range: a node there has no IPv6 address`,
        { context: { address: ip, range } },
      );
    }
    const hub = family === 4 ? network.hubIp4 : network.hubIp6;
    const own = family === 4 ? addressOnly(node.ip4) : node.ip6 ? addressOnly(node.ip6) : null;
    if (hub && addressOnly(hub) === ip)
      throw new DomainError("ADDRESS_TAKEN", `${ip} is the hub's address; pick another`, {
        context: { address: ip },
      });
    if (ip !== own && (family === 4 ? others.ip4 : others.ip6).includes(ip))
      throw new DomainError("ADDRESS_TAKEN", `${ip} is another node's address; pick a free one`, {
        context: { address: ip },
      });
  }
}

/** Nodes: list, read, change and delete them. */
export function createNodeService(core: MeshCore) {
  const {
    requireNetwork,
    requireNode,
    emitNodeEvent,
    refreshConfigs,
    commitAndDispatch,
    assertRoutesFree,
    db,
  } = core;
  return {
    async listNodes(q: NodeListQuery): Promise<{ items: NodeView[]; total: number }> {
      const { items, total } = await repo.listNodes(db, q);
      return { items: items.map(toNodeView), total };
    },

    /** Throws NODE_NOT_FOUND. In a mesh, the view also says how the node reaches each peer (`meshPeers`). */
    async getNode(id: string): Promise<NodeView> {
      const row = await requireNode(db, id);
      const network = await requireNetwork(db, row.networkId);
      if (network.topology !== "mesh") return toNodeView(row);
      const all = (await repo.configRows(db, row.networkId)).map(toNodeSpec);
      return { ...toNodeView(row), meshPeers: meshPeerReach(toNetworkSpec(network), toNodeSpec(row), all) };
    },

    /**
     * Changes a node. A new public key retires the old one (and drops a server-held private key);
     * `status: "disabled"` takes it off the hub. New `ip4`/`ip6` move the node (under the network's
     * exclusive lock, which enrollments wait for): every config that names it gets a new version, and
     * the network's sync moves its peer on the hub. Throws NODE_NOT_FOUND, PUBLIC_KEY_TAKEN,
     * NODE_NAME_TAKEN, ADDRESS_TAKEN, ADDRESS_OUTSIDE_NETWORK.
     */
    async updateNode(id: string, patch: UpdateNodeInput, ctx: MeshContext): Promise<NodeView> {
      try {
        return await commitAndDispatch(`node ${id} updated`, async (tx, effects) => {
          const before = await requireNode(tx, id);
          const network = await requireNetwork(tx, before.networkId, true);
          if (patch.publicKey !== undefined && patch.publicKey === network.hubPublicKey) throw hubKeyTaken();
          if (patch.extraAllowedIps?.length) await assertRoutesFree(tx, network, patch.extraAllowedIps, id);
          await assertAddressesFree(tx, network, before, patch);
          const rekeyed = patch.publicKey !== undefined && patch.publicKey !== before.publicKey;
          const row = (await repo.updateNode(tx, id, {
            ...patch,
            ...(rekeyed ? { privateKeyEnc: null } : {}),
            // An operator's enable also lifts a quota's disable (for the rest of the month).
            ...(patch.status !== undefined
              ? { disabledReason: patch.status === "disabled" ? ("operator" as const) : null }
              : {}),
          }))!;
          if (rekeyed) await repo.retirePeers(tx, network.id, [before.publicKey]);
          if (row.status === "disabled") await repo.retirePeers(tx, network.id, [row.publicKey]);
          else await repo.unretirePeer(tx, network.id, row.publicKey);
          await refreshConfigs(tx, network, effects, new Set([id]));
          effects.syncNetworks.add(network.id);
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "node.updated",
            entityType: "node",
            entityId: id,
            details: { changes: { ...patch }, rekeyed },
            requestId: ctx.requestId ?? null,
          });
          const after = (await repo.getNode(tx, id))!;
          // A patch that changes nothing is not news to an operator: no event.
          const changed = changedFields(before, patch);
          if (changed.length > 0) {
            const extra = { changed, ...(rekeyed ? { rekeyed } : {}) };
            await emitNodeEvent(tx, "node.updated", after, network, extra, actorOf(ctx));
          }
          return toNodeView(after);
        });
      } catch (err) {
        translateConstraint(err, { name: patch.name, publicKey: patch.publicKey });
      }
    },

    /**
     * Deletes nodes by id or by email; their keys leave the hub at the next sync. With
     * `keepUsageHistory` their monthly usage stays (detached from the node). Returns the deleted nodes.
     */
    async deleteNodes(
      selector: { id: string } | { email: string },
      options: { keepUsageHistory: boolean },
      ctx: MeshContext,
    ): Promise<NodeView[]> {
      const reason = "id" in selector ? `node ${selector.id} deleted` : "nodes deleted by email";
      return commitAndDispatch(reason, async (tx, effects) => {
        const targets =
          "id" in selector
            ? [await requireNode(tx, selector.id)]
            : await repo.nodesByEmail(tx, selector.email);
        const networkIds = [...new Set(targets.map((n) => n.networkId))].sort();
        const networks = new Map<string, NetworkRow>();
        for (const networkId of networkIds)
          networks.set(networkId, await requireNetwork(tx, networkId, true));
        if (!options.keepUsageHistory)
          await repo.deleteUsageOf(
            tx,
            targets.map((n) => n.id),
          );
        const deleted = await repo.deleteNodes(
          tx,
          targets.map((n) => n.id),
        );
        for (const networkId of networkIds) {
          await repo.retirePeers(
            tx,
            networkId,
            deleted.filter((n) => n.networkId === networkId).map((n) => n.publicKey),
          );
          await refreshConfigs(tx, (await repo.getNetwork(tx, networkId))!, effects, new Set());
          effects.syncNetworks.add(networkId);
        }
        for (const node of deleted) {
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "node.deleted",
            entityType: "node",
            entityId: node.id,
            details: {
              name: node.name,
              email: node.email,
              networkId: node.networkId,
              keepUsageHistory: options.keepUsageHistory,
            },
            requestId: ctx.requestId ?? null,
          });
          const extra = { keepUsageHistory: options.keepUsageHistory, by: "id" in selector ? "id" : "email" };
          await emitNodeEvent(tx, "node.removed", node, networks.get(node.networkId)!, extra, actorOf(ctx));
        }
        return deleted.map(toNodeView);
      });
    },
  };
}
