/** Networks: create, list, read, change and delete them, with their hub key pairs and listen ports. */
import { randomUUID } from "node:crypto";
import { recordAudit } from "../audit/index.js";
import { DomainError, pgConstraint } from "../errors.js";
import { generateKeyPair, generatePresharedKey } from "../wireguard/index.js";
import { parseCidr } from "./cidr.js";
import type { ConfigLinkService } from "./config-links.service.js";
import { hubAddress } from "./ipam.js";
import {
  actorOf,
  type MeshContext,
  type MeshCore,
  pickListenPort,
  translateConstraint,
} from "./mesh.core.js";
import * as repo from "./mesh.repo.js";
import type { CreateNetworkInput, UpdateNetworkInput } from "./mesh.schema.js";
import { applyPresharedKeyMode, serverHeldChanged } from "./psk.service.js";
import { type ReissuedConfig, reissue } from "./rekey.service.js";
import type { NetworkView } from "./views.js";
import { toNetworkView } from "./views.js";

export type NetworkService = ReturnType<typeof createNetworkService>;

/** A changed network; `reissued` when its preshared keys changed (see `NetworkPresharedKeyChange`). */
export type UpdatedNetwork = NetworkView & { reissued?: ReissuedConfig[] };

/** Networks: create, list, read, change and delete them (a network's hub key pair and listen port included). */
export function createNetworkService(core: MeshCore, links: ConfigLinkService) {
  const {
    sealHubKey,
    sealPairSecret,
    inTx,
    requireNetwork,
    emitNodeEvent,
    refreshConfigs,
    commitAndDispatch,
    db,
  } = core;
  return {
    /** Creates a network with a fresh hub key pair. Throws NETWORK_NAME_TAKEN / NETWORK_OVERLAP (409). */
    async createNetwork(input: CreateNetworkInput, ctx: MeshContext): Promise<NetworkView> {
      const id = randomUUID();
      const hub = generateKeyPair();
      const cidr4 = parseCidr(input.cidr4);
      const cidr6 = input.cidr6 ? parseCidr(input.cidr6) : undefined;
      try {
        return await inTx(async (tx) => {
          const listenPort = pickListenPort(await repo.lockListenPorts(tx), input.listenPort);
          const row = await repo.insertNetwork(tx, {
            id,
            name: input.name,
            cidr4: input.cidr4,
            cidr6: input.cidr6 ?? null,
            listenPort,
            endpoint: input.endpoint ?? null,
            topology: input.topology,
            dns: input.dns,
            mtu: input.mtu ?? null,
            persistentKeepalive: input.persistentKeepalive ?? null,
            presharedKeys: input.presharedKeys ?? "off",
            presharedKeySecretEnc:
              input.presharedKeys === "all" ? sealPairSecret(id, generatePresharedKey()) : null,
            hubPublicKey: hub.publicKey,
            hubPrivateKeyEnc: sealHubKey(id, hub.privateKey),
            hubIp4: hubAddress(cidr4),
            hubIp6: cidr6 ? hubAddress(cidr6) : null,
          });
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "network.created",
            entityType: "network",
            entityId: row.id,
            details: {
              name: row.name,
              cidr4: row.cidr4,
              cidr6: row.cidr6,
              topology: row.topology,
              presharedKeys: row.presharedKeys,
            },
            requestId: ctx.requestId ?? null,
          });
          return toNetworkView({ ...row, nodeCount: 0 });
        });
      } catch (err) {
        translateConstraint(err, {
          name: input.name,
          cidr: input.cidr6 && pgConstraint(err) === "networks_cidr6_excl" ? input.cidr6 : input.cidr4,
        });
      }
    },

    async listNetworks(): Promise<NetworkView[]> {
      return (await repo.listNetworks(db)).map(toNetworkView);
    },

    /** Throws NETWORK_NOT_FOUND. */
    async getNetwork(id: string): Promise<NetworkView> {
      const network = await requireNetwork(db, id);
      return toNetworkView({ ...network, nodeCount: await repo.countNodes(db, id) });
    },

    /** Finds a network by id or name (for `WG_INTERFACES`); undefined when none. */
    async findNetwork(idOrName: string): Promise<NetworkView | undefined> {
      const byId = /^[0-9a-f-]{36}$/i.test(idOrName) ? await repo.getNetwork(db, idOrName) : undefined;
      const row = byId ?? (await repo.getNetworkByName(db, idOrName));
      return row ? toNetworkView(row) : undefined;
    },

    /**
     * Changes a network; every node whose config changes gets a new version. Turning preshared keys
     * on (`presharedKeys`, see psk.service.ts) gives every node without one its key in the same
     * transaction; when the setting is in the patch, `reissued` says how each server-held node whose
     * config changed gets it. Throws NETWORK_NOT_FOUND.
     */
    async updateNetwork(id: string, patch: UpdateNetworkInput, ctx: MeshContext): Promise<UpdatedNetwork> {
      try {
        const result = await commitAndDispatch(`network ${id} updated`, async (tx, effects) => {
          const before = await requireNetwork(tx, id, true);
          if (patch.listenPort !== undefined)
            pickListenPort(await repo.lockListenPorts(tx, id), patch.listenPort);
          const { presharedKeys: mode, ...rest } = patch;
          const psk = mode === undefined ? undefined : await applyPresharedKeyMode(core, tx, before, mode);
          const row = (await repo.updateNetwork(tx, id, { ...rest, ...psk?.columns }))!;
          await refreshConfigs(tx, row, effects);
          effects.syncNetworks.add(id);
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "network.updated",
            entityType: "network",
            entityId: id,
            details: { changes: patch, ...(psk ? { nodesKeyed: psk.nodesKeyed } : {}) },
            requestId: ctx.requestId ?? null,
          });
          const serverHeld = psk ? await serverHeldChanged(core, tx, row, effects, ctx) : undefined;
          return { view: toNetworkView({ ...row, nodeCount: await repo.countNodes(tx, id) }), serverHeld };
        });
        if (!result.serverHeld) return result.view;
        // Links are made after the commit: a link's own unit of work must not wait on the change's.
        return { ...result.view, reissued: await reissue(links, result.serverHeld, ctx) };
      } catch (err) {
        translateConstraint(err, { name: patch.name });
      }
    },

    /**
     * Deletes a network. With nodes it needs `force` (else NETWORK_HAS_NODES, 409); each of them is
     * removed with it and gets a `node.removed` event (`by: "network"`; usage history is kept).
     */
    async deleteNetwork(id: string, force: boolean, ctx: MeshContext): Promise<NetworkView> {
      return inTx(async (tx) => {
        const network = await requireNetwork(tx, id, true);
        const nodeCount = await repo.countNodes(tx, id);
        if (nodeCount > 0 && !force) {
          throw new DomainError(
            "NETWORK_HAS_NODES",
            `network ${network.name} has ${nodeCount} nodes; delete them or pass ?force=true`,
            {
              context: { nodeCount },
            },
          );
        }
        const members = nodeCount > 0 ? await repo.nodesOfNetwork(tx, id) : [];
        await repo.deleteNetwork(tx, id);
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "network.deleted",
          entityType: "network",
          entityId: id,
          details: { name: network.name, nodesDeleted: nodeCount },
          requestId: ctx.requestId ?? null,
        });
        // Its nodes go with it (usage rows stay, detached): each is a node.removed too.
        for (const node of members) {
          const extra = { keepUsageHistory: true, by: "network" };
          await emitNodeEvent(tx, "node.removed", node, network, extra, actorOf(ctx));
        }
        return toNetworkView({ ...network, nodeCount: 0 });
      });
    },
  };
}
