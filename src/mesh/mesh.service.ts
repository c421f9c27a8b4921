import { randomBytes, randomUUID } from "node:crypto";
import QRCode from "qrcode";
import { recordAudit } from "../audit/index.js";
import type { Principal } from "../auth/index.js";
import { describePrincipal, isAdmin } from "../auth/index.js";
import type { SecretBox } from "../crypto/index.js";
import { safeEqual, sha256Hex } from "../crypto/index.js";
import type { Db, Tx } from "../db/index.js";
import { pipelined } from "../db/index.js";
import { DomainError, isStalePlan, pgConstraint, pgErrorCode } from "../errors.js";
import type { EventType } from "../events/index.js";
import { emitEvent } from "../events/index.js";
import type { JobQueue } from "../queue/index.js";
import { generateKeyPair } from "../wireguard/index.js";
import { overlaps, parseCidr } from "./cidr.js";
import type { DispatchErrorReporter, MeshEffects } from "./effects.js";
import { dispatchEffects, newEffects } from "./effects.js";
import { heartbeatCandidates, sameCandidates } from "./endpoints.js";
import { changedFields, type NodeFacts, nodeEventData } from "./events.js";
import { allocateAddress, hubAddress } from "./ipam.js";
import type { NetworkRow, NodeRow, UsedAddresses } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import type {
  CreateEnrollmentKeyInput,
  CreateNetworkInput,
  CreateNodeInput,
  HeartbeatInput,
  NodeListQuery,
  RegisterNodeInput,
  UpdateNetworkInput,
  UpdateNodeInput,
} from "./mesh.schema.js";
import type { ReachabilityReport } from "./reachability.js";
import { handshakeStatus, reachabilityReport } from "./reachability.js";
import { markSeenThroughHub, reachabilityInputs, recordPeerHandshakes } from "./reachability.repo.js";
import type { DesiredHubPeer } from "./render.js";
import { configHash, desiredHubPeers, meshPeerReach, renderNodeConfig, routesBehindNodes } from "./render.js";
import type { EnrollmentKeyView, NetworkView, NodeView } from "./views.js";
import { toEnrollmentKeyView, toNetworkSpec, toNetworkView, toNodeSpec, toNodeView } from "./views.js";

const NODE_TOKEN_PREFIX = "wsn_";
const ENROLLMENT_KEY_PATTERN = /^(wse_[A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Postgres retries: a serialization failure or deadlock is retried this many times. */
const MAX_TX_RETRIES = 5;
/** More than any pool has connections: each may hold its own stale copy of a statement. */
const MAX_STALE_PLAN_RETRIES = 64;

export interface MeshContext {
  principal?: Principal | undefined;
  requestId?: string | undefined;
}

export interface MeshServiceDeps {
  db: Db;
  queue: JobQueue;
  secrets: SecretBox;
  /** Called when a trigger could not be queued after commit (the reconcile repairs it). */
  reportDispatchError?: DispatchErrorReporter;
}

export interface CreatedNode {
  node: NodeView;
  /** The node's agent token; shown once. */
  token: string;
  /** The full config with the private key, when the server generated the key pair; shown once. */
  config?: string;
}

export interface RenderedConfig {
  text: string;
  version: number;
  filename: string;
  networkName: string;
}

/** A node's config as its owner's node-config email carries it (see `NodeConfigSource` in src/notify). */
export interface NodeConfigBundle {
  nodeName: string;
  networkName: string;
  filename: string;
  /** The wg-quick config, the node's private key included. */
  text: string;
  qrPng: Buffer;
}

/** The hub side of a network, as a worker needs it to run the interface. */
export interface HubState {
  network: NetworkView;
  hubPrivateKey: string;
  peers: DesiredHubPeer[];
  /** Keys of peers that left the network and must leave the interface too. */
  retired: string[];
}

export type MeshService = ReturnType<typeof createMeshService>;

const actorOf = (ctx: MeshContext) => (ctx.principal ? describePrincipal(ctx.principal) : "system");

type NodeEventType = Extract<EventType, `node.${string}`>;

/** A PNG QR code of a wg-quick config, sized for the WireGuard mobile apps. */
const configQr = (text: string): Promise<Buffer> =>
  QRCode.toBuffer(text, { type: "png", errorCorrectionLevel: "L", margin: 2, scale: 4 });

/** Turns a constraint violation into the domain error a client can act on; rethrows anything else. */
function translateConstraint(
  err: unknown,
  values: { name?: string; publicKey?: string; cidr?: string },
): never {
  const code = pgErrorCode(err);
  const constraint = pgConstraint(err) ?? "";
  if (code === "23P01" || constraint.endsWith("_excl")) {
    throw new DomainError(
      "NETWORK_OVERLAP",
      `${values.cidr ?? "the range"} overlaps an existing network's range; pick a free range`,
      {
        context: { cidr: values.cidr },
      },
    );
  }
  if (code === "23505") {
    if (constraint === "networks_name_key") {
      throw new DomainError(
        "NETWORK_NAME_TAKEN",
        `a network named ${JSON.stringify(values.name)} already exists`,
      );
    }
    if (constraint === "nodes_network_public_key_key") {
      throw new DomainError(
        "PUBLIC_KEY_TAKEN",
        "this public key already belongs to a node of this network; generate a new key pair",
      );
    }
    if (constraint === "nodes_network_name_key") {
      throw new DomainError(
        "NODE_NAME_TAKEN",
        `a node named ${JSON.stringify(values.name)} already exists in this network`,
      );
    }
    if (constraint === "nodes_network_ip4_key" || constraint === "nodes_network_ip6_key") {
      throw new DomainError("ADDRESS_TAKEN", "the address was taken concurrently; retry the request");
    }
  }
  throw err;
}

/** A node given its hub's public key would route the hub's own traffic to itself. */
const hubKeyTaken = () =>
  new DomainError("PUBLIC_KEY_TAKEN", "this public key is the hub's own; generate a key pair for the node");

/** Where networks listen when not told: WireGuard's own port, then up. */
const FIRST_LISTEN_PORT = 51820;
const MAX_PORT = 65535;

/**
 * The listen port of a network: `wanted` when no other network has it (LISTEN_PORT_TAKEN, 409,
 * otherwise), or the lowest free port from 51820 up. Ports are unique across the installation, not
 * per host: which host serves a network is the workers' configuration (`WG_INTERFACES`), unknown
 * here, and two interfaces of one host cannot share a UDP port.
 */
function pickListenPort(used: ReadonlySet<number>, wanted: number | undefined): number {
  if (wanted !== undefined) {
    if (!used.has(wanted)) return wanted;
    throw new DomainError(
      "LISTEN_PORT_TAKEN",
      `another network already listens on port ${wanted}; pick another port or leave listenPort out for a free one`,
      { context: { listenPort: wanted } },
    );
  }
  for (let port = FIRST_LISTEN_PORT; port <= MAX_PORT; port++) if (!used.has(port)) return port;
  throw new DomainError(
    "LISTEN_PORT_TAKEN",
    `every port from ${FIRST_LISTEN_PORT} up is taken; give listenPort`,
  );
}

function networkNotFound(id: string): never {
  throw new DomainError("NETWORK_NOT_FOUND", `network ${id} does not exist`, { context: { id } });
}

/** Networks, nodes, IPAM, keys, enrollment and configs: the desired state of every mesh. */
export function createMeshService(deps: MeshServiceDeps) {
  const { db, secrets } = deps;
  const report: DispatchErrorReporter = deps.reportDispatchError ?? (() => {});

  const sealNodeKey = (nodeId: string, key: string) => secrets.seal(key, `node:${nodeId}`);
  const openNodeKey = (nodeId: string, enc: string) => secrets.open(enc, `node:${nodeId}`);
  const sealHubKey = (networkId: string, key: string) => secrets.seal(key, `network:${networkId}`);
  const openHubKey = (networkId: string, enc: string) => secrets.open(enc, `network:${networkId}`);

  /**
   * Runs `fn` in a transaction, retrying serialization failures, deadlocks, an address taken by a
   * concurrent enrollment (the unique constraint behind IPAM's lock: allocate again), and a
   * statement a schema change made stale (each pooled connection fails once per such statement, so
   * those have a budget of their own). `fn` must touch nothing but the database.
   */
  async function inTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    let retries = 0;
    let stalePlans = 0;
    for (;;) {
      try {
        return await db.transaction(fn);
      } catch (err) {
        if (isStalePlan(err) && stalePlans++ < MAX_STALE_PLAN_RETRIES) continue;
        const code = pgErrorCode(err);
        const retry =
          code === "40001" ||
          code === "40P01" ||
          (err instanceof DomainError && err.code === "ADDRESS_TAKEN");
        if (retry && retries++ < MAX_TX_RETRIES) continue;
        throw err;
      }
    }
  }

  async function requireNetwork(tx: Db | Tx, id: string, forUpdate = false): Promise<NetworkRow> {
    return (await repo.getNetwork(tx, id, { forUpdate })) ?? networkNotFound(id);
  }

  async function requireNode(tx: Db | Tx, id: string, forUpdate = false): Promise<NodeRow> {
    const node = await repo.getNode(tx, id, { forUpdate });
    if (!node) throw new DomainError("NODE_NOT_FOUND", `node ${id} does not exist`, { context: { id } });
    return node;
  }

  /**
   * Records a `node.*` event in `tx`, the transaction of the change it reports, so the event exists
   * exactly when the change does. `source` names who caused it, never a credential.
   */
  async function emitNodeEvent(
    tx: Tx,
    type: NodeEventType,
    node: NodeFacts,
    network: Pick<NetworkRow, "id" | "name">,
    extra: Record<string, unknown>,
    source: string,
  ): Promise<void> {
    await emitEvent(tx, { type, data: nodeEventData(node, network, extra) }, { source });
  }

  /**
   * The configs among `rows` (a network's nodes, or those of `scope`) whose hash is not the stored one,
   * with their new hashes. `independent`: each row's config depends on its own node alone (a hub
   * network without routes), so each is hashed without the others.
   */
  function staleConfigs(
    network: NetworkRow,
    rows: readonly repo.ConfigRow[],
    options: { scope?: ReadonlySet<string> | undefined; independent?: boolean } = {},
  ): repo.ConfigState[] {
    const { scope, independent = false } = options;
    const specs = rows.map(toNodeSpec);
    const spec = toNetworkSpec(network);
    const affectsAll = network.topology === "mesh" || specs.some((n) => n.extraAllowedIps.length > 0);
    const changed: repo.ConfigState[] = [];
    const routesBehind = independent ? undefined : routesBehindNodes(specs);
    for (const [i, row] of rows.entries()) {
      if (scope && !affectsAll && !scope.has(row.id)) continue;
      const hash = independent
        ? configHash({ network: spec, node: specs[i]!, nodes: [specs[i]!] })
        : configHash({ network: spec, node: specs[i]!, nodes: specs, routesBehind });
      if (hash !== row.configHash) changed.push({ id: row.id, hash, bump: row.configHash !== null });
    }
    return changed;
  }

  /**
   * Recomputes config hashes of a network's nodes and bumps the version of each whose config changed;
   * records the pushes in `effects`. `scope` limits the work to some nodes when the change cannot
   * affect the others (hub topology without routes behind nodes).
   */
  async function refreshConfigs(
    tx: Tx,
    network: NetworkRow,
    effects: MeshEffects,
    scope?: ReadonlySet<string>,
  ) {
    // In a hub network without routes behind nodes, a node's config depends on itself alone: read
    // only the nodes in scope instead of the whole network.
    const independent =
      scope !== undefined && network.topology === "hub" && !(await repo.hasRoutes(tx, network.id));
    const rows = await repo.configRows(tx, network.id, independent ? [...scope] : undefined);
    const changed = staleConfigs(network, rows, { scope, independent });
    // One node (an enrollment's, an edit's) takes the one-row statement; a network-wide change, batches.
    if (changed.length === 1) {
      const [{ id, hash, bump }] = changed as [repo.ConfigState];
      effects.pushConfigs.set(id, await repo.setConfigState(tx, id, hash, bump));
    } else if (changed.length > 1)
      for (const [id, version] of await repo.setConfigStates(tx, changed))
        effects.pushConfigs.set(id, version);
  }

  async function commitAndDispatch<T>(
    reason: string,
    fn: (tx: Tx, effects: MeshEffects) => Promise<T>,
  ): Promise<T> {
    const effects = newEffects(reason);
    const result = await inTx((tx) => {
      effects.syncNetworks.clear();
      effects.pushConfigs.clear();
      return fn(tx, effects);
    });
    await dispatchEffects(deps.queue, effects, report);
    return result;
  }

  /**
   * Refuses routes a node would carry that overlap the network's own ranges or another node's routes:
   * WireGuard gives a prefix to one peer only, so a second claim silently steals it. Throws ROUTE_TAKEN.
   */
  async function assertRoutesFree(
    tx: Tx,
    network: NetworkRow,
    routes: readonly string[],
    exceptNodeId?: string,
  ) {
    const own = [network.cidr4, ...(network.cidr6 ? [network.cidr6] : [])];
    const claimed = (await repo.nodesOfNetwork(tx, network.id))
      .filter((n) => n.id !== exceptNodeId)
      .flatMap((n) => n.extraAllowedIps.map((r) => ({ route: r, by: `node ${n.name}` })));
    const checked: { route: string; by: string }[] = [
      ...own.map((r) => ({ route: r, by: "the network's own range" })),
      ...claimed,
    ];
    for (const route of routes) {
      const c = parseCidr(route);
      const clash = checked.find((o) => overlaps(c, parseCidr(o.route)));
      if (clash) {
        throw new DomainError(
          "ROUTE_TAKEN",
          `route ${route} overlaps ${clash.route} of ${clash.by}; each prefix may have one peer`,
          {
            context: { route, conflictsWith: clash.route },
          },
        );
      }
      checked.push({ route, by: "this node" });
    }
  }

  /**
   * Allocates addresses (and a key pair when none is given), inserts the node, and brings configs up
   * to date; records the peer sync and config pushes in `effects`. Returns the final row.
   */
  async function insertNodeInNetwork(
    tx: Tx,
    network: NetworkRow,
    effects: MeshEffects,
    input: {
      name: string;
      email?: string | null | undefined;
      publicKey?: string | undefined;
      endpoint?: string | null | undefined;
      role: NodeRow["role"];
      extraAllowedIps?: string[];
      tags?: string[];
      natType?: string | null;
      networkInfo?: NodeRow["networkInfo"];
      capabilities?: NodeRow["capabilities"];
      location?: NodeRow["location"];
      enrollmentKeyId?: string | null;
    },
    /** The network's addresses in use, read after its row was locked. */
    used: UsedAddresses,
    /** The audit row and event of the enrollment, built from the node's facts before it is written. */
    announce: (node: NodeFacts) => Promise<unknown>[],
  ): Promise<{ row: NodeRow; token: string; privateKey: string | undefined }> {
    if (input.extraAllowedIps?.length) await assertRoutesFree(tx, network, input.extraAllowedIps);
    const ip4 = allocateAddress(parseCidr(network.cidr4), [...used.ip4, network.hubIp4]);
    const ip6 = network.cidr6
      ? allocateAddress(parseCidr(network.cidr6), [...used.ip6, network.hubIp6 ?? ""].filter(Boolean))
      : null;
    if (input.publicKey === network.hubPublicKey) throw hubKeyTaken();
    const id = randomUUID();
    const generated = input.publicKey ? undefined : generateKeyPair();
    const token = `${NODE_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
    const publicKey = input.publicKey ?? generated!.publicKey;
    const extraAllowedIps = input.extraAllowedIps ?? [];
    // In a hub network, a node without routes of its own changes no other node's config, and its own
    // depends on it and the routes behind others alone: hash it now, sparing the refresh that reads
    // and hashes the whole network back.
    const independent = network.topology === "hub" && extraAllowedIps.length === 0;
    const spec = {
      id,
      name: input.name,
      publicKey,
      ip4,
      ip6,
      endpoint: input.endpoint ?? null,
      extraAllowedIps,
      status: "pending",
    };
    const routed =
      independent && used.hasRoutes ? (await repo.routeRows(tx, network.id)).map(toNodeSpec) : [];
    const hash = independent
      ? configHash({ network: toNetworkSpec(network), node: spec, nodes: [spec, ...routed] })
      : null;
    const privateKeyEnc = generated ? sealNodeKey(id, generated.privateKey) : null;
    const facts: NodeFacts = {
      id,
      name: input.name,
      email: input.email ?? null,
      networkId: network.id,
      ip4,
      privateKeyEnc,
    };
    let row: NodeRow;
    try {
      // The insert, the retired-key cleanup, the audit row and the event are pipelined on the
      // transaction's connection: one round trip. A failed insert aborts the transaction, and its
      // error is the one that surfaces (it comes first; the others fail after it).
      [row] = await pipelined([
        repo.insertNode(tx, {
          configHash: hash,
          id,
          networkId: network.id,
          name: input.name,
          email: input.email ?? null,
          publicKey,
          privateKeyEnc,
          ip4,
          ip6,
          endpoint: input.endpoint ?? null,
          role: input.role,
          extraAllowedIps: input.extraAllowedIps ?? [],
          tags: input.tags ?? [],
          natType: input.natType ?? null,
          networkInfo: input.networkInfo ?? {},
          capabilities: input.capabilities ?? {},
          location: input.location ?? {},
          tokenHash: sha256Hex(token),
          enrollmentKeyId: input.enrollmentKeyId ?? null,
        }),
        repo.unretirePeer(tx, network.id, publicKey),
        ...announce(facts),
      ]);
    } catch (err) {
      translateConstraint(err, { name: input.name, publicKey });
    }
    if (independent) effects.pushConfigs.set(row.id, row.configVersion);
    else {
      await refreshConfigs(tx, network, effects, new Set([row.id]));
      row = (await repo.getNode(tx, row.id))!;
    }
    effects.syncNetworks.add(network.id);
    return { row, token, privateKey: generated?.privateKey };
  }

  /**
   * The node whose config (private key included) `ctx` may download: an admin's, or the node's own
   * token's. Throws NODE_NOT_FOUND (also to another node's token) or FORBIDDEN (readers, users).
   */
  async function requireConfigReader(nodeId: string, ctx: MeshContext): Promise<NodeRow> {
    const principal = ctx.principal;
    // IMPORTANT: another node's token learns nothing, not even that the node exists.
    if (principal?.kind === "node" && principal.id !== nodeId)
      throw new DomainError("NODE_NOT_FOUND", `node ${nodeId} does not exist`, { context: { id: nodeId } });
    if (principal?.kind !== "node" && !isAdmin(principal)) {
      throw new DomainError(
        "FORBIDDEN",
        "a node's config carries its private key: only an admin or the node's own token may download it",
      );
    }
    return requireNode(db, nodeId);
  }

  /** Every download of a config that holds a private key is audited: who and which node, never the key. */
  async function auditKeyRead(node: NodeRow, format: "conf" | "qr", ctx: MeshContext): Promise<void> {
    if (!node.privateKeyEnc) return;
    await recordAudit(db, {
      actor: actorOf(ctx),
      action: "node.private-key-read",
      entityType: "node",
      entityId: node.id,
      details: { networkId: node.networkId, format },
      requestId: ctx.requestId ?? null,
    });
  }

  async function renderFor(node: NodeRow, withPrivateKey: boolean): Promise<RenderedConfig> {
    // A hub-topology config needs only the nodes with routes behind them; a mesh one, every node.
    const [network, routed] = await Promise.all([
      requireNetwork(db, node.networkId),
      repo.routeRows(db, node.networkId),
    ]);
    const others = network.topology === "hub" ? routed : await repo.configRows(db, node.networkId);
    const text = renderNodeConfig({
      network: toNetworkSpec(network),
      node: toNodeSpec(node),
      nodes: others.map(toNodeSpec),
      privateKey: withPrivateKey && node.privateKeyEnc ? openNodeKey(node.id, node.privateKeyEnc) : undefined,
    });
    const filename = `${network.name}-${node.name}`.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60);
    return { text, version: node.configVersion, filename: `${filename}.conf`, networkName: network.name };
  }

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
            details: { name: row.name, cidr4: row.cidr4, cidr6: row.cidr6, topology: row.topology },
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

    /** Changes a network; every node whose config changes gets a new version. Throws NETWORK_NOT_FOUND. */
    async updateNetwork(id: string, patch: UpdateNetworkInput, ctx: MeshContext): Promise<NetworkView> {
      try {
        return await commitAndDispatch(`network ${id} updated`, async (tx, effects) => {
          await requireNetwork(tx, id, true);
          if (patch.listenPort !== undefined)
            pickListenPort(await repo.lockListenPorts(tx, id), patch.listenPort);
          const row = (await repo.updateNetwork(tx, id, patch))!;
          await refreshConfigs(tx, row, effects);
          effects.syncNetworks.add(id);
          await recordAudit(tx, {
            actor: actorOf(ctx),
            action: "network.updated",
            entityType: "network",
            entityId: id,
            details: { changes: patch },
            requestId: ctx.requestId ?? null,
          });
          return toNetworkView({ ...row, nodeCount: await repo.countNodes(tx, id) });
        });
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
     * Enrolls a node. Without a public key the server generates the pair and the result carries the
     * full config (private key included) once. Throws NETWORK_NOT_FOUND, ADDRESS_POOL_EXHAUSTED,
     * PUBLIC_KEY_TAKEN, NODE_NAME_TAKEN.
     */
    async createNode(input: CreateNodeInput, ctx: MeshContext): Promise<CreatedNode> {
      const created = await commitAndDispatch(`node ${input.name} enrolled`, async (tx, effects) => {
        // Pipelined: Postgres runs the address read after the lock is granted, with a snapshot taken
        // then, so it sees every enrollment committed before ours. Should the read ever overtake the
        // lock, the address's unique constraint refuses the insert and inTx allocates again.
        const [network, used] = await pipelined([
          requireNetwork(tx, input.networkId, true),
          repo.usedAddresses(tx, input.networkId),
        ]);
        return insertNodeInNetwork(tx, network, effects, input, used, (node) => [
          recordAudit(tx, {
            actor: actorOf(ctx),
            action: "node.created",
            entityType: "node",
            entityId: node.id,
            details: {
              name: node.name,
              networkId: network.id,
              ip4: node.ip4,
              serverKey: node.privateKeyEnc !== null,
            },
            requestId: ctx.requestId ?? null,
          }),
          emitNodeEvent(tx, "node.enrolled", node, network, { via: "api" }, actorOf(ctx)),
        ]);
      });
      const result: CreatedNode = { node: toNodeView(created.row), token: created.token };
      if (created.privateKey) result.config = (await renderFor(created.row, true)).text;
      return result;
    },

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
     * `status: "disabled"` takes it off the hub. Throws NODE_NOT_FOUND, PUBLIC_KEY_TAKEN, NODE_NAME_TAKEN.
     */
    async updateNode(id: string, patch: UpdateNodeInput, ctx: MeshContext): Promise<NodeView> {
      try {
        return await commitAndDispatch(`node ${id} updated`, async (tx, effects) => {
          const before = await requireNode(tx, id);
          const network = await requireNetwork(tx, before.networkId, true);
          if (patch.publicKey !== undefined && patch.publicKey === network.hubPublicKey) throw hubKeyTaken();
          if (patch.extraAllowedIps?.length) await assertRoutesFree(tx, network, patch.extraAllowedIps, id);
          const rekeyed = patch.publicKey !== undefined && patch.publicKey !== before.publicKey;
          const row = (await repo.updateNode(tx, id, {
            ...patch,
            ...(rekeyed ? { privateKeyEnc: null } : {}),
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

    /**
     * The node's wg-quick config, private key included when the server holds it, for an admin or the
     * node's own token (each such download with a key is audited). Throws NODE_NOT_FOUND, FORBIDDEN.
     */
    async renderConfig(nodeId: string, ctx: MeshContext): Promise<RenderedConfig> {
      const node = await requireConfigReader(nodeId, ctx);
      const config = await renderFor(node, true);
      await auditKeyRead(node, "conf", ctx);
      return config;
    },

    /** A PNG QR code of the node's config, for the WireGuard mobile apps; same rules as `renderConfig`. */
    async renderConfigQr(
      nodeId: string,
      ctx: MeshContext,
    ): Promise<{ png: Buffer; version: number; filename: string }> {
      const node = await requireConfigReader(nodeId, ctx);
      const config = await renderFor(node, true);
      const png = await configQr(config.text);
      await auditKeyRead(node, "qr", ctx);
      return { png, version: config.version, filename: config.filename.replace(/\.conf$/, ".png") };
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
          const config = await renderFor(node, true);
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

    /** The node a node token belongs to; undefined for an unknown token. */
    async authenticateNodeToken(token: string): Promise<Principal | undefined> {
      if (!token.startsWith(NODE_TOKEN_PREFIX)) return undefined;
      const hash = sha256Hex(token);
      const node = await repo.getNodeByTokenHash(db, hash);
      if (!node?.tokenHash || !safeEqual(hash, node.tokenHash)) return undefined;
      return { kind: "node", id: node.id, networkId: node.networkId, scopes: [] };
    },

    /** Creates an enrollment key; the key is in the result once. Throws NETWORK_NOT_FOUND. */
    async createEnrollmentKey(
      input: CreateEnrollmentKeyInput,
      ctx: MeshContext,
    ): Promise<EnrollmentKeyView & { key: string }> {
      const lookup = randomBytes(9).toString("base64url").slice(0, 12);
      const key = `wse_${lookup}_${randomBytes(32).toString("base64url")}`;
      return inTx(async (tx) => {
        await requireNetwork(tx, input.networkId);
        const row = await repo.insertEnrollmentKey(tx, {
          networkId: input.networkId,
          prefix: `wse_${lookup}`,
          keyHash: sha256Hex(key),
          description: input.description ?? null,
          reusable: input.reusable,
          maxUses: input.reusable ? (input.maxUses ?? null) : 1,
          expiresAt: input.expiresAt ?? null,
          role: input.role,
          tags: input.tags,
          createdBy: actorOf(ctx),
        });
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "enrollment-key.created",
          entityType: "enrollment_key",
          entityId: row.id,
          details: {
            networkId: row.networkId,
            prefix: row.prefix,
            reusable: row.reusable,
            maxUses: row.maxUses,
          },
          requestId: ctx.requestId ?? null,
        });
        return { ...toEnrollmentKeyView(row), key };
      });
    },

    async listEnrollmentKeys(networkId?: string): Promise<EnrollmentKeyView[]> {
      return (await repo.listEnrollmentKeys(db, networkId)).map(toEnrollmentKeyView);
    },

    /** Revokes an enrollment key (idempotent). Throws ENROLLMENT_KEY_NOT_FOUND. */
    async revokeEnrollmentKey(id: string, ctx: MeshContext): Promise<EnrollmentKeyView> {
      return inTx(async (tx) => {
        const row = await repo.revokeEnrollmentKey(tx, id);
        if (!row)
          throw new DomainError("ENROLLMENT_KEY_NOT_FOUND", `enrollment key ${id} does not exist`, {
            context: { id },
          });
        await recordAudit(tx, {
          actor: actorOf(ctx),
          action: "enrollment-key.revoked",
          entityType: "enrollment_key",
          entityId: id,
          details: { prefix: row.prefix },
          requestId: ctx.requestId ?? null,
        });
        return toEnrollmentKeyView(row);
      });
    },

    /**
     * A node registers itself with an enrollment key: one use is taken atomically (a one-use key
     * admits exactly one of two racing registrations). Returns the node and its token (shown once).
     * Re-registering an existing node (`nodeId` with the same public key) refreshes its info and
     * rotates its token, and only the node itself may: `ctx.principal` must be that node's token
     * (NODE_IDENTITY_UNPROVEN, 403, otherwise, and nothing changes). Throws ENROLLMENT_KEY_INVALID
     * (401) and the errors of `createNode`.
     */
    async registerNode(
      enrollmentKey: string,
      input: RegisterNodeInput,
      ctx: MeshContext,
    ): Promise<{ node: NodeView; token: string }> {
      const prefix = ENROLLMENT_KEY_PATTERN.exec(enrollmentKey)?.[1];
      const invalid = () =>
        new DomainError(
          "ENROLLMENT_KEY_INVALID",
          "the enrollment key is unknown, revoked, expired or used up",
        );
      if (!prefix) throw invalid();
      const key = await repo.findEnrollmentKeyByPrefix(db, prefix);
      if (!key || !safeEqual(sha256Hex(enrollmentKey), key.keyHash)) throw invalid();
      const info = {
        natType: input.networkInfo.natType ?? null,
        networkInfo: input.networkInfo,
        capabilities: input.capabilities,
        location: input.location,
      };
      try {
        return await commitAndDispatch("node registered", async (tx, effects) => {
          const network = await requireNetwork(tx, key.networkId, true);
          if (input.nodeId) {
            const existing = await repo.getNode(tx, input.nodeId);
            if (existing && existing.networkId === network.id && existing.publicKey === input.publicKey) {
              // Re-registration takes no use, but the key must still be valid: unrevoked, unexpired, and
              // either not used up or the very key this node enrolled with.
              const view = toEnrollmentKeyView(key);
              const expired = key.expiresAt !== null && key.expiresAt.getTime() <= Date.now();
              if (key.revokedAt || expired || (!view.usable && existing.enrollmentKeyId !== key.id))
                throw invalid();
              // IMPORTANT: the node id and public key are public; only the node's current token proves
              // the caller is this node (else anyone with an enrollment key could take it over).
              if (ctx.principal?.kind !== "node" || ctx.principal.id !== existing.id) {
                throw new DomainError(
                  "NODE_IDENTITY_UNPROVEN",
                  `re-registering node ${existing.id} needs its current token: send it as X-Node-Token along with the enrollment key`,
                  { context: { nodeId: existing.id } },
                );
              }
              const token = `${NODE_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
              const row = (await repo.updateNode(tx, existing.id, {
                ...info,
                tokenHash: sha256Hex(token),
                lastSeenAt: new Date(),
              }))!;
              await recordAudit(tx, {
                actor: `enrollment-key:${key.prefix}`,
                action: "node.reregistered",
                entityType: "node",
                entityId: row.id,
                details: { networkId: network.id },
                requestId: ctx.requestId ?? null,
              });
              // Always news, even with the same info: the node's token was rotated.
              const extra = { changed: changedFields(existing, info), reregistered: true };
              await emitNodeEvent(tx, "node.updated", row, network, extra, `enrollment-key:${key.prefix}`);
              return { node: toNodeView(row), token };
            }
          }
          if (!(await repo.consumeEnrollmentKey(tx, key.id))) throw invalid();
          const name =
            input.name ??
            `node-${input.publicKey
              .replace(/[^A-Za-z0-9]/g, "")
              .slice(0, 8)
              .toLowerCase()}`;
          const source = `enrollment-key:${key.prefix}`;
          const used = await repo.usedAddresses(tx, network.id);
          const made = await insertNodeInNetwork(
            tx,
            network,
            effects,
            {
              name,
              email: input.email,
              publicKey: input.publicKey,
              role: key.role,
              tags: key.tags,
              enrollmentKeyId: key.id,
              ...info,
            },
            used,
            (node) => [
              recordAudit(tx, {
                actor: source,
                action: "node.registered",
                entityType: "node",
                entityId: node.id,
                details: { name, networkId: network.id, ip4: node.ip4 },
                requestId: ctx.requestId ?? null,
              }),
              emitNodeEvent(tx, "node.enrolled", node, network, { via: "enrollment-key" }, source),
            ],
          );
          const row = made.row;
          return { node: toNodeView(row), token: made.token };
        });
      } catch (err) {
        // A refused takeover leaves a trace: its transaction rolled back, so the audit row goes alone.
        if (err instanceof DomainError && err.code === "NODE_IDENTITY_UNPROVEN") {
          await recordAudit(db, {
            actor: `enrollment-key:${key.prefix}`,
            action: "node.reregister-refused",
            entityType: "node",
            entityId: input.nodeId ?? null,
            details: {
              networkId: key.networkId,
              presented: ctx.principal ? describePrincipal(ctx.principal) : null,
            },
            requestId: ctx.requestId ?? null,
          });
        }
        translateConstraint(err, { name: input.name, publicKey: input.publicKey });
      }
    },

    /**
     * A node reports in: marks it online, stores its metrics, its endpoint candidates (seen from
     * `observed.remoteAddress`, see endpoints.ts) and the handshakes it reports with its peers. When
     * its candidates changed, refreshes the configs that name it (a mesh: every node's). When this
     * brings it online (from pending or offline), emits `node.online` in the same transaction. Returns
     * the node (whose config version it should run). Throws NODE_NOT_FOUND.
     */
    async heartbeat(
      nodeId: string,
      input: HeartbeatInput,
      observed: { remoteAddress?: string | undefined } = {},
    ): Promise<{ node: NodeView; wentOnline: boolean }> {
      const now = new Date();
      const result = await commitAndDispatch(`node ${nodeId} heartbeat`, async (tx, effects) => {
        // IMPORTANT: locked, so of two racing heartbeats only one sees the old status and emits.
        const before = await requireNode(tx, nodeId, true);
        const candidates = heartbeatCandidates(before, input, observed.remoteAddress);
        const reachChanged =
          candidates !== undefined && !sameCandidates(candidates, before.endpointCandidates);
        const online = before.status !== "disabled";
        const row = (
          reachChanged
            ? await repo.updateNode(tx, nodeId, {
                metrics: input.metrics,
                lastSeenAt: now,
                endpointCandidates: candidates,
                ...(online ? { status: "online" as const } : {}),
              })
            : await repo.recordHeartbeat(tx, nodeId, { metrics: input.metrics, seenAt: now, online })
        )!;
        const wentOnline = before.status !== "online" && row.status === "online";
        if (!reachChanged && !wentOnline) return { node: toNodeView(row), wentOnline };
        const network = await requireNetwork(tx, row.networkId, reachChanged);
        if (reachChanged) await refreshConfigs(tx, network, effects, new Set([nodeId]));
        if (wentOnline) {
          const extra = { previousStatus: before.status, lastSeenAt: row.lastSeenAt };
          await emitNodeEvent(tx, "node.online", row, network, extra, `node:${nodeId}`);
        }
        return { node: toNodeView(row), wentOnline };
      });
      // Foot-gun: not in the transaction above. Its rows reference the peers' node rows, and a
      // reference waits for a peer's heartbeat holding its own row locked: two agents reporting each
      // other at once would deadlock. Reports are hints; a lost one is replaced by the next heartbeat.
      if (input.handshakes?.length) await recordPeerHandshakes(db, result.node, input.handshakes, now);
      return result;
    },

    /**
     * Which pairs of a network (each node with the hub; in a mesh, each two nodes) shook hands
     * recently, by `reachabilityReport`. Throws NETWORK_NOT_FOUND.
     */
    async reachability(
      networkId: string,
    ): Promise<ReachabilityReport & { networkId: string; checkedAt: Date }> {
      const network = await requireNetwork(db, networkId);
      const now = new Date();
      const inputs = await reachabilityInputs(db, networkId);
      return {
        networkId,
        checkedAt: now,
        ...reachabilityReport({ topology: network.topology, ...inputs, now }),
      };
    },

    /**
     * The hub's interface showed these handshakes (Unix seconds, as WireGuard reports them): nodes
     * with a recent one are seen (`lastSeenAt`) and online — how a node without an agent shows up —
     * and each that was not online gets `node.online`. The liveness check takes them offline again
     * once handshakes stop. Returns how many nodes went online.
     */
    async recordHubHandshakes(
      networkId: string,
      readings: readonly { publicKey: string; latestHandshake: number }[],
      now = new Date(),
    ): Promise<number> {
      const recent = readings
        .filter((r) => r.latestHandshake > 0)
        .map((r) => ({ publicKey: r.publicKey, at: new Date(r.latestHandshake * 1000) }))
        .filter((h) => handshakeStatus(h.at, now) === "recent");
      if (recent.length === 0) return 0;
      return inTx(async (tx) => {
        const seen = await markSeenThroughHub(tx, networkId, recent);
        if (seen.length === 0) return 0;
        const network = await requireNetwork(tx, networkId);
        for (const s of seen) {
          const row = (await repo.getNode(tx, s.id))!;
          const extra = {
            previousStatus: s.previousStatus,
            lastSeenAt: row.lastSeenAt,
            via: "hub-handshake",
          };
          await emitNodeEvent(tx, "node.online", row, network, extra, "system");
        }
        return seen.length;
      });
    },

    /**
     * Marks online nodes not heard from since `before` offline and emits `node.offline` for each, in
     * one transaction (a heartbeat racing it either lands first and keeps its node online, or after
     * and brings it back with `node.online`). Returns the nodes it marked.
     */
    async markStaleNodesOffline(before: Date): Promise<NodeView[]> {
      return inTx(async (tx) => {
        const rows = await repo.markOffline(tx, before);
        const networks = await repo.getNetworks(tx, [...new Set(rows.map((r) => r.networkId))]);
        for (const row of rows) {
          // The node rows are locked, so their networks cannot be deleted under us.
          const network = networks.find((n) => n.id === row.networkId)!;
          await emitNodeEvent(tx, "node.offline", row, network, { lastSeenAt: row.lastSeenAt }, "system");
        }
        return rows.map(toNodeView);
      });
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

    /** What a network's hub interface must hold. Throws NETWORK_NOT_FOUND. */
    async hubState(networkId: string): Promise<HubState> {
      const [network, all, retired] = await Promise.all([
        repo.getNetwork(db, networkId),
        repo.hubPeers(db, networkId),
        repo.retiredKeys(db, networkId),
      ]);
      if (!network) networkNotFound(networkId);
      const peers = desiredHubPeers(all);
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
