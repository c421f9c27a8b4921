/**
 * The mesh: networks, nodes, IPAM, keys, enrollment and wg-quick configs — the desired state of
 * every WireGuard mesh, in Postgres. Pure helpers (cidr, ipam, render, events) have no I/O; the
 * service owns transactions, audit rows, the `node.*` events it writes to the outbox in the
 * transaction of each change, and the triggers it queues after commit. It also serves node configs
 * to node-config emails (`configSource()`), picks where mesh nodes reach each other from what their
 * agents report (`endpoints.ts`, pure) and answers which pairs shook hands recently
 * (`reachability.ts`, pure). It never touches a WireGuard interface, never puts a
 * key, token or ciphertext in an event, and never returns a private key except in a node's own
 * config (to an admin, the node, the node owner's email, or whoever holds a one-time config link). Key, address and endpoint parsing
 * belong to the data plane (`src/wireguard`), which the mesh builds on and which never imports it.
 */

// The key helpers are the data plane's; re-exported because the mesh's callers make and check keys.
export {
  generateKeyPair,
  generatePresharedKey,
  isWgKey,
  publicKeyOf,
  WG_KEY_PATTERN,
} from "../wireguard/index.js";
export * from "./adopt.js";
export * from "./adopt.service.js";
export * from "./agent-command.js";
export * from "./cidr.js";
export * from "./config-links.service.js";
export * from "./config-push.js";
export * from "./configs.service.js";
export * from "./effects.js";
export * from "./endpoints.js";
export * from "./enrollment.service.js";
export * from "./enrollment-keys.service.js";
export * from "./events.js";
export { HubPeerMemo } from "./hub-peers.js";
export * from "./ipam.js";
export * from "./liveness.service.js";
export * from "./mesh.core.js";
export type { NetworkRow, NodeRow } from "./mesh.repo.js";
export * from "./mesh.schema.js";
export * from "./networks.service.js";
export * from "./node-protocol.schema.js";
export * from "./node-status.js";
export * from "./nodes.service.js";
export * from "./psk.service.js";
export * from "./reachability.js";
export * from "./rekey.service.js";
export * from "./render.js";
export * from "./stream-slots.js";
export * from "./views.js";
export * from "./weak-keys.js";

import { createAdoptService } from "./adopt.service.js";
import { createConfigLinkService } from "./config-links.service.js";
import { createConfigService } from "./configs.service.js";
import { createEnrollmentService } from "./enrollment.service.js";
import { createEnrollmentKeyService } from "./enrollment-keys.service.js";
import { createLivenessService } from "./liveness.service.js";
import { createMeshCore, type MeshServiceDeps } from "./mesh.core.js";
import { createNetworkService } from "./networks.service.js";
import { createNodeService } from "./nodes.service.js";
import { createPresharedKeyService } from "./psk.service.js";
import { createRekeyService } from "./rekey.service.js";

/** The mesh's services, one per concept, sharing one `MeshCore`. */
export function createMeshServices(deps: MeshServiceDeps) {
  const core = createMeshCore(deps);
  const configLinks = createConfigLinkService(core);
  const rekey = createRekeyService(core, configLinks, { hubApplyWaitMs: deps.hubApplyWaitMs });
  return {
    networks: createNetworkService(core, configLinks),
    nodes: createNodeService(core),
    enrollment: createEnrollmentService(core),
    enrollmentKeys: createEnrollmentKeyService(core),
    configs: createConfigService(core),
    configLinks,
    liveness: createLivenessService(core, { configApplied: (networkId) => rekey.hubKeyConfirmed(networkId) }),
    adopt: createAdoptService(core),
    rekey,
    presharedKeys: createPresharedKeyService(core, configLinks),
  };
}

export type MeshServices = ReturnType<typeof createMeshServices>;
