/**
 * What the mesh's services share (`createMeshCore`, built once by `createMeshServices`): the unit of
 * work with the mesh's extra retry (an address taken concurrently) and its after-commit triggers,
 * lookups that throw the domain's not-found errors, `node.*` events written in the change's
 * transaction, config hashes and versions, node and hub keys sealed at rest, and config rendering.
 * The services, one per concept, sit beside it (`*.service.ts`): networks, nodes, enrollment,
 * enrollment-keys, configs, liveness. Node tokens are made and checked by `src/auth`.
 */
import QRCode from "qrcode";
import type { NodeClaim, Principal } from "../auth/index.js";
import { describePrincipal, invalidNodeClaim, isAdmin } from "../auth/index.js";
import type { SecretBox } from "../crypto/index.js";
import type { Db, Tx } from "../db/index.js";
import { transaction } from "../db/index.js";
import { DomainError, pgConstraint, pgErrorCode } from "../errors.js";
import type { EventType } from "../events/index.js";
import { emitEvent } from "../events/index.js";
import type { JobQueue } from "../queue/index.js";
import type { DesiredPeer } from "../wireguard/index.js";
import { overlaps, parseCidr } from "./cidr.js";
import type { DispatchErrorReporter, MeshEffects } from "./effects.js";
import { dispatchEffects, newEffects } from "./effects.js";
import { type NodeFacts, nodeEventData } from "./events.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import { configHash, renderNodeConfig, routesBehindNodes } from "./render.js";
import type { NetworkView, NodeView } from "./views.js";
import { toNetworkSpec, toNodeSpec } from "./views.js";

export const ENROLLMENT_KEY_PATTERN = /^(wse_[A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface MeshContext {
  principal?: Principal | undefined;
  /**
   * A node token not yet authenticated (no `principal`): a service that takes one checks it in the
   * statement that reads the node, for the node in question only.
   */
  nodeClaim?: NodeClaim | undefined;
  requestId?: string | undefined;
}

export interface MeshServiceDeps {
  db: Db;
  queue: JobQueue;
  secrets: SecretBox;
  /** How long a node's key rotation waits for its hub's interface to hold the new key (default 15 s). */
  hubApplyWaitMs?: number | undefined;
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
  networkId: string;
  networkName: string;
}

/** A node's config as its owner's node-config email carries it (see `NodeConfigSource` in src/notify). */
/** A node whose config is downloaded, with what its render reads besides the other nodes. */
export interface ConfigSubject {
  node: NodeRow;
  network: NetworkRow;
  /** The routes behind other nodes of `network`, read with the node. */
  routed: repo.ConfigRow[];
}

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
  /** Its peers as the database has them, unchecked: `desiredSet` checks them for the interface. */
  peers: DesiredPeer[];
  /** Keys of peers that left the network and must leave the interface too. */
  retired: string[];
}

export const actorOf = (ctx: MeshContext) => (ctx.principal ? describePrincipal(ctx.principal) : "system");

export type NodeEventType = Extract<EventType, `node.${string}`>;

/** A PNG QR code of a wg-quick config, sized for the WireGuard mobile apps. */
export const configQr = (text: string): Promise<Buffer> =>
  QRCode.toBuffer(text, { type: "png", errorCorrectionLevel: "L", margin: 2, scale: 4 });

/** Turns a constraint violation into the domain error a client can act on; rethrows anything else. */
/**
 * Thrown by a transaction body that took too weak a lock for what it found (a shared lock on a
 * network that turned out to need an exclusive one): the unit of work runs the body again, which
 * then takes the right lock from the start. Upgrading in place instead would deadlock two such
 * bodies against each other.
 */
export class LockAgain extends Error {}

export function translateConstraint(
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
    if (constraint === "nodes_pkey") {
      // Two registrations racing with the same client-chosen id: the second finds it taken.
      throw new DomainError("NODE_ID_TAKEN", "this node id was taken concurrently; choose another id");
    }
    if (constraint === "nodes_network_ip4_key" || constraint === "nodes_network_ip6_key") {
      throw new DomainError("ADDRESS_TAKEN", "the address was taken concurrently; retry the request");
    }
  }
  throw err;
}

/** A node given its hub's public key would route the hub's own traffic to itself. */
export const hubKeyTaken = () =>
  new DomainError("PUBLIC_KEY_TAKEN", "this public key is the hub's own; generate a key pair for the node");

/** Where networks listen when not told: WireGuard's own port, then up. */
export const FIRST_LISTEN_PORT = 51820;
export const MAX_PORT = 65535;

/**
 * The listen port of a network: `wanted` when no other network has it (LISTEN_PORT_TAKEN, 409,
 * otherwise), or the lowest free port from 51820 up. Ports are unique across the installation, not
 * per host: which host serves a network is the workers' configuration (`WG_INTERFACES`), unknown
 * here, and two interfaces of one host cannot share a UDP port.
 */
export function pickListenPort(used: ReadonlySet<number>, wanted: number | undefined): number {
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

export function networkNotFound(id: string): never {
  throw new DomainError("NETWORK_NOT_FOUND", `network ${id} does not exist`, { context: { id } });
}

/** The shared machinery of the mesh services; built once per platform. */
export function createMeshCore(deps: MeshServiceDeps) {
  const { db, secrets } = deps;
  const report: DispatchErrorReporter = deps.reportDispatchError ?? (() => {});

  const sealNodeKey = (nodeId: string, key: string) => secrets.seal(key, `node:${nodeId}`);
  const openNodeKey = (nodeId: string, enc: string) => secrets.open(enc, `node:${nodeId}`);
  // A node's preshared key with its hub: sealed with the associated data re-seal expects (src/backup).
  const sealPresharedKey = (nodeId: string, key: string) => secrets.seal(key, `node:${nodeId}:psk`);
  const openPresharedKey = (nodeId: string, enc: string | null) =>
    enc === null ? undefined : secrets.open(enc, `node:${nodeId}:psk`);
  // A network's pair secret (mesh node-to-node preshared keys): associated data `network:<id>:psk`.
  const sealPairSecret = (networkId: string, secret: string) =>
    secrets.seal(secret, `network:${networkId}:psk`);
  /** The pair secret `network`'s mesh configs derive their node-to-node preshared keys from, if any. */
  const openPairSecret = (network: Pick<NetworkRow, "id" | "topology" | "presharedKeySecretEnc">) =>
    network.topology === "mesh" && network.presharedKeySecretEnc !== null
      ? secrets.open(network.presharedKeySecretEnc, `network:${network.id}:psk`)
      : undefined;
  const sealHubKey = (networkId: string, key: string) => secrets.seal(key, `network:${networkId}`);
  const openHubKey = (networkId: string, enc: string) => secrets.open(enc, `network:${networkId}`);

  /**
   * Runs `fn` in the unit of work (src/db `transaction`), also retrying an address taken by a
   * concurrent enrollment (the unique constraint behind IPAM's lock: allocate again).
   */
  const retryIf = (err: unknown) =>
    (err instanceof DomainError && err.code === "ADDRESS_TAKEN") || err instanceof LockAgain;
  const inTx = <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => transaction(db, (tx) => fn(tx), { retryIf });

  /** The network, read with the row lock asked for (`true`: `update`). Throws NETWORK_NOT_FOUND. */
  async function requireNetwork(
    tx: Db | Tx,
    id: string,
    lock: repo.RowLock | boolean = false,
  ): Promise<NetworkRow> {
    return (
      (await repo.getNetwork(tx, id, { lock: lock === true ? "update" : lock === false ? "none" : lock })) ??
      networkNotFound(id)
    );
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
    const pairSecret = openPairSecret(network);
    for (const [i, row] of rows.entries()) {
      if (scope && !affectsAll && !scope.has(row.id)) continue;
      const presharedKey = openPresharedKey(row.id, row.presharedKeyEnc);
      const hash = independent
        ? configHash({ network: spec, node: specs[i]!, nodes: [specs[i]!], presharedKey })
        : configHash({
            network: spec,
            node: specs[i]!,
            nodes: specs,
            routesBehind,
            presharedKey,
            pairSecret,
          });
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

  /**
   * `fn` in the unit of work; its effects are dispatched once it has committed (never on a rollback).
   * `committed` runs right at the commit, before the dispatch: an enrollment releases its address
   * claims there, since others may wait for them while holding a pool connection, and the dispatch
   * may need one (to route a job to its hub host).
   */
  function commitAndDispatch<T>(
    reason: string,
    fn: (tx: Tx, effects: MeshEffects) => Promise<T>,
    committed?: () => void,
  ): Promise<T> {
    return transaction(
      db,
      (tx, afterCommit) => {
        const effects = newEffects(reason);
        if (committed) afterCommit(committed);
        afterCommit(() => dispatchEffects(deps.queue, effects, report));
        return fn(tx, effects);
      },
      { retryIf },
    );
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
   * The node whose config (private key included) `ctx` may download: an admin's, or the node's own
   * token's, resolved (`principal`) or claimed (`nodeClaim`, checked by the read itself), read with
   * its network and the routes behind other nodes in one statement. The download is audited
   * (`auditedNodeWithNetwork`: a private key, or an admin's read of preshared keys) in that
   * statement, once the caller is known to be allowed: a download whose rendering then fails is
   * audited all the same. Throws NODE_NOT_FOUND (also to another node's token), FORBIDDEN (readers,
   * users) or UNAUTHENTICATED (a claim that is not the node's token: nothing read, nothing audited).
   */
  async function requireConfigReader(
    nodeId: string,
    ctx: MeshContext,
    format: "conf" | "qr",
  ): Promise<ConfigSubject> {
    const principal = ctx.principal;
    const claim = principal ? undefined : ctx.nodeClaim;
    // IMPORTANT: another node's token learns nothing, not even that the node exists.
    if (principal?.kind === "node" && principal.id !== nodeId)
      throw new DomainError("NODE_NOT_FOUND", `node ${nodeId} does not exist`, { context: { id: nodeId } });
    if (!claim && principal?.kind !== "node" && !isAdmin(principal)) {
      throw new DomainError(
        "FORBIDDEN",
        "a node's config carries its private key: only an admin or the node's own token may download it",
      );
    }
    const found = await repo.auditedNodeWithNetwork(db, nodeId, {
      // A claim is the node's own token once the statement matches: audited as its principal is.
      actor: claim ? `node:${nodeId}` : actorOf(ctx),
      format,
      requestId: ctx.requestId ?? null,
      // A node reading its own config is not audited for preshared keys: its agent does so at every
      // new version.
      auditPresharedKeys: !claim && principal?.kind !== "node",
      tokenHash: claim?.tokenHash,
    });
    if (!found && claim) throw invalidNodeClaim();
    if (!found)
      throw new DomainError("NODE_NOT_FOUND", `node ${nodeId} does not exist`, { context: { id: nodeId } });
    return found;
  }

  /**
   * Renders the node's config, reading its network and peers through `exec`.
   * IMPORTANT: inside a transaction pass the transaction, never the pool: a read on another
   * connection while the transaction holds one waits forever where there is only one (the embedded
   * database). No default, so that every caller chooses.
   */
  async function renderFor(
    exec: Db | Tx,
    node: NodeRow,
    withPrivateKey: boolean,
    read?: Pick<ConfigSubject, "network" | "routed">,
  ): Promise<RenderedConfig> {
    // A hub-topology config needs only the nodes with routes behind them; a mesh one, every node.
    const [network, routed] = await Promise.all([
      read?.network ?? requireNetwork(exec, node.networkId),
      read?.routed ?? repo.routeRows(exec, node.networkId),
    ]);
    const others = network.topology === "hub" ? routed : await repo.configRows(exec, node.networkId);
    const text = renderNodeConfig({
      network: toNetworkSpec(network),
      node: toNodeSpec(node),
      nodes: others.map(toNodeSpec),
      privateKey: withPrivateKey && node.privateKeyEnc ? openNodeKey(node.id, node.privateKeyEnc) : undefined,
      presharedKey: openPresharedKey(node.id, node.presharedKeyEnc),
      pairSecret: openPairSecret(network),
    });
    const filename = `${network.name}-${node.name}`.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60);
    return {
      text,
      version: node.configVersion,
      filename: `${filename}.conf`,
      networkId: network.id,
      networkName: network.name,
    };
  }

  return {
    report,
    sealNodeKey,
    openNodeKey,
    sealHubKey,
    openHubKey,
    sealPresharedKey,
    openPresharedKey,
    sealPairSecret,
    openPairSecret,
    retryIf,
    inTx,
    requireNetwork,
    requireNode,
    emitNodeEvent,
    staleConfigs,
    refreshConfigs,
    commitAndDispatch,
    assertRoutesFree,
    requireConfigReader,
    renderFor,
    db,
    secrets,
    deps,
  };
}

export type MeshCore = ReturnType<typeof createMeshCore>;
