/**
 * Enrollment: a node joins a network, created through the API (`createNode`) or registered by its
 * agent with an enrollment key (`registerNode`); both insert through `insertNodeInNetwork`.
 */
import { type AuditEntry, auditRow, recordAudit } from "../audit/index.js";
import { describePrincipal, generateNodeToken } from "../auth/index.js";
import { safeEqual, sha256Hex } from "../crypto/index.js";
import type { Tx } from "../db/index.js";
import { DEFAULT_TX_RETRIES, isRetryableTxError, pipelined } from "../db/index.js";
import { DomainError } from "../errors.js";
import { eventRow } from "../events/index.js";
import { hubQueueName, JOBS } from "../queue/index.js";
import { generatePresharedKey } from "../wireguard/index.js";
import type { MeshEffects } from "./effects.js";
import { addJoined, dispatchEffects, newEffects } from "./effects.js";
import type { ClaimSession, KnownNetwork, PreparedNode } from "./enrollment-addresses.js";
import {
  allocateKnownPair,
  allocatePair,
  createAddressClaims,
  createKnownAddresses,
  prepareNode,
} from "./enrollment-addresses.js";
import { changedFields, type NodeFacts, nodeEventData } from "./events.js";
import {
  actorOf,
  type CreatedNode,
  ENROLLMENT_KEY_PATTERN,
  hubKeyTaken,
  LockAgain,
  type MeshContext,
  type MeshCore,
  translateConstraint,
} from "./mesh.core.js";
import type { NetworkRow, NodeRow } from "./mesh.repo.js";
import * as repo from "./mesh.repo.js";
import type { CreateNodeInput, RegisterNodeInput } from "./mesh.schema.js";
import type { NodeSpec } from "./render.js";
import { configHash, renderNodeConfig } from "./render.js";
import type { NodeView } from "./views.js";
import { toEnrollmentKeyView, toNetworkSpec, toNodeSpec, toNodeView } from "./views.js";

export type EnrollmentService = ReturnType<typeof createEnrollmentService>;

/** An enrollment's outcome, before its config is rendered. */
interface Enrolled {
  row: NodeRow;
  token: string;
  privateKey: string | undefined;
  /** For a node whose config depends on no other's change: what its config is rendered from. */
  renderedFrom?: { network: NetworkRow; others: NodeSpec[] };
}

/** What an enrollment is told of its node, beyond its identity and addresses. */
interface NodeFields {
  name: string;
  email?: string | null | undefined;
  endpoint?: string | null | undefined;
  role: NodeRow["role"];
  extraAllowedIps?: string[];
  tags?: string[];
  natType?: string | null;
  networkInfo?: NodeRow["networkInfo"];
  capabilities?: NodeRow["capabilities"];
  location?: NodeRow["location"];
  enrollmentKeyId?: string | null;
}

/**
 * A new node, as both enrollment paths write it: its spec (what its config is hashed from), its
 * facts (for the audit row and the event) and its row, given its config hash (null: hashed later).
 */
function newNode(
  made: PreparedNode,
  networkId: string,
  input: NodeFields,
  { ip4, ip6 }: { ip4: string; ip6: string | null },
  presharedKeyEnc: string | null,
) {
  const { id, publicKey, privateKeyEnc } = made;
  const extraAllowedIps = input.extraAllowedIps ?? [];
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
  const facts: NodeFacts = {
    id,
    name: input.name,
    email: input.email ?? null,
    networkId,
    ip4,
    privateKeyEnc,
  };
  const values = (configHash: string | null): repo.NewNode => ({
    configHash,
    id,
    networkId,
    name: input.name,
    email: input.email ?? null,
    publicKey,
    privateKeyEnc,
    presharedKeyEnc,
    presharedKeyManaged: presharedKeyEnc !== null,
    ip4,
    ip6,
    endpoint: input.endpoint ?? null,
    role: input.role,
    extraAllowedIps,
    tags: input.tags ?? [],
    natType: input.natType ?? null,
    networkInfo: input.networkInfo ?? {},
    capabilities: input.capabilities ?? {},
    location: input.location ?? {},
    tokenHash: made.tokenHash,
    enrollmentKeyId: input.enrollmentKeyId ?? null,
  });
  return { spec, facts, values };
}

/** The audit row of a node created through the API. */
function createdAudit(node: NodeFacts, network: NetworkRow, ctx: MeshContext): AuditEntry {
  return {
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
  };
}

/** Enrollment: a node joins a network, created through the API (`createNode`) or registered by its agent with an enrollment key (`registerNode`). */
export function createEnrollmentService(core: MeshCore) {
  const {
    sealNodeKey,
    sealPresharedKey,
    openPresharedKey,
    requireNetwork,
    emitNodeEvent,
    refreshConfigs,
    commitAndDispatch,
    assertRoutesFree,
    renderFor,
    db,
    deps,
    report,
  } = core;
  /** Enrollments in flight in this process, per network and address (see `enrollment-addresses.ts`). */
  const claims = createAddressClaims();
  /** The addresses of networks as last read, by version (see `enrollment-addresses.ts`). */
  const known = createKnownAddresses();
  /**
   * Networks found to be meshes: their enrollments lock the network row exclusively from the start
   * (every node's config changes). Only grows; a network turned back into a hub merely keeps the
   * slower lock.
   */
  const meshes = new Set<string>();

  /**
   * Runs an enrollment's transaction with a claim session for its addresses, released once the
   * transaction is over: at the commit (pass `session.release` to `commitAndDispatch`), or when it
   * fails.
   */
  async function withClaims<T>(fn: (session: ClaimSession) => Promise<T>): Promise<T> {
    const session = claims.session();
    try {
      return await fn(session);
    } finally {
      session.release();
    }
  }

  /**
   * The one enrollment path, of API creation and agent registration alike: locks the network, reads
   * its addresses in use, runs `admit` (e.g. take an enrollment key's use), allocates addresses,
   * inserts the node, and brings configs up to date; records the peer sync and config pushes in
   * `effects`. Returns the final row.
   *
   * The lock: into a hub network, a node without routes changes no other node's config, so
   * enrollments share the network's row lock (a network change or a node carrying routes takes it
   * exclusively and waits) and run side by side; the unique constraints on (network, address) keep
   * addresses apart, and `claims` keeps enrollments of this process from even trying the same one.
   * Into a mesh, or with routes, the lock is exclusive.
   */
  async function insertNodeInNetwork(
    ...args: Parameters<typeof insertNodeInNetworkOnce>
  ): ReturnType<typeof insertNodeInNetworkOnce> {
    try {
      return await insertNodeInNetworkOnce(...args);
    } catch (err) {
      // IMPORTANT: a failed attempt drops its claim at once. Its transaction may be retried (an
      // address taken by a commit its read missed), and the retry waits for a pool connection; held
      // meanwhile, the claim would keep enrollments that wait for it (`allocatePair`) on theirs, and
      // with the pool full of them, neither side moves until the pool's wait gives up (503). The
      // address's unique constraint still keeps it from two nodes.
      args[3].release();
      throw err;
    }
  }

  async function insertNodeInNetworkOnce(
    tx: Tx,
    networkId: string,
    effects: MeshEffects,
    session: ClaimSession,
    made: PreparedNode,
    input: NodeFields,
    /** The audit row and event of the enrollment, built from the node's facts before it is written. */
    announce: (node: NodeFacts, network: NetworkRow) => Promise<unknown>[],
    /** Runs once the network is locked, before anything is written; throws to refuse. */
    admit?: (network: NetworkRow) => Promise<void>,
  ): Promise<Enrolled> {
    const extraAllowedIps = input.extraAllowedIps ?? [];
    const exclusive = extraAllowedIps.length > 0 || meshes.has(networkId);
    // Pipelined: Postgres runs the address read after the lock is granted, with a snapshot taken
    // then, so it sees every enrollment committed before ours. An enrollment committed after the read
    // (or one of another process) ends at the address's unique constraint, and the unit of work
    // allocates again.
    const [network, used] = await pipelined([
      requireNetwork(tx, networkId, exclusive ? "update" : "share"),
      repo.usedAddresses(tx, networkId),
    ]);
    if (!exclusive && network.topology === "mesh") {
      // A mesh under a shared lock: start again with the exclusive one.
      meshes.add(networkId);
      throw new LockAgain(`network ${networkId} is a mesh: enroll under its exclusive lock`);
    }
    await admit?.(network);
    if (extraAllowedIps.length > 0) await assertRoutesFree(tx, network, extraAllowedIps);
    if (made.publicKey === network.hubPublicKey) throw hubKeyTaken();
    const { ip4, ip6 } = await allocatePair(claims, tx, network, used, session);
    const { id, publicKey } = made;
    // A network with preshared keys on gives every node its key with the hub from the start.
    const presharedKeyEnc =
      network.presharedKeys === "off" ? null : sealPresharedKey(id, generatePresharedKey());
    // In a hub network, a node without routes of its own changes no other node's config, and its own
    // depends on it and the routes behind others alone: hash it now, sparing the refresh that reads
    // and hashes the whole network back.
    const independent = network.topology === "hub" && extraAllowedIps.length === 0;
    const { spec, facts, values } = newNode(made, network.id, input, { ip4, ip6 }, presharedKeyEnc);
    const routed =
      independent && used.hasRoutes ? (await repo.routeRows(tx, network.id)).map(toNodeSpec) : [];
    const hash = independent
      ? configHash({
          network: toNetworkSpec(network),
          node: spec,
          nodes: [spec, ...routed],
          presharedKey: openPresharedKey(id, presharedKeyEnc),
        })
      : null;
    let row: NodeRow;
    try {
      // The insert, the retired-key cleanup, the pending join, the audit row and the event are
      // pipelined on the transaction's connection: one round trip. A failed insert aborts the
      // transaction, and its error is the one that surfaces (it comes first; the others fail after it).
      [row] = await pipelined([
        repo.insertNode(tx, values(hash)),
        repo.unretirePeer(tx, network.id, publicKey),
        repo.insertPendingJoin(tx, network.id, id),
        ...announce(facts, network),
      ]);
    } catch (err) {
      translateConstraint(err, { name: input.name, publicKey });
    }
    // No config push for the new node itself: a push only tells the agent's open config stream of a
    // new version, and no stream can be open yet (it needs the node's token, which only the response
    // to this enrollment carries); the agent reads the current version when it connects. Others
    // whose configs changed (in a mesh, or with routes) are pushed as usual.
    if (!independent) {
      await refreshConfigs(tx, network, effects, new Set([row.id]));
      effects.pushConfigs.delete(row.id);
      row = (await repo.getNode(tx, row.id))!;
    }
    addJoined(effects, network.id);
    // Routed as src/hubs routes it (`routeOf`), from the lease read with the addresses: the holder's
    // queue, the shared one when no host ever held the network. An expired lease is left to the
    // routed queue, which reads it again and reports the owner absent.
    if (used.lease === null) effects.syncQueues.set(network.id, JOBS["network-sync"].queue);
    else if (used.lease.live) effects.syncQueues.set(network.id, hubQueueName(used.lease.hubId));
    return {
      row,
      token: made.token,
      privateKey: made.privateKey,
      ...(independent ? { renderedFrom: { network, others: routed } } : {}),
    };
  }
  /**
   * What this process knows of `networkId` as read now: with its addresses unless they are known for
   * the version read. Undefined when there is no such network.
   */
  async function readKnown(
    networkId: string,
    knownVersion = known.versionOf(networkId),
  ): Promise<KnownNetwork | undefined> {
    const read = await repo.readForEnrollment(db, networkId, knownVersion);
    if (!read) return undefined;
    // Left out as known, but the version known moved on meanwhile (another enrollment read a newer
    // one): read them.
    return known.learn(read) ?? readKnown(networkId, "");
  }

  /**
   * `createNode`'s enrollment without a transaction: ONE statement (`repo.insertNodeAtOnce`)
   * locks the network for itself alone and writes the node, its audit row and its outbox event, all
   * or none. For a hub network without routes, where the node's config depends on the network row
   * and the node alone.
   *
   * The network as this process knows it at some version of its row (`known`; `first` when just
   * read, alongside the key pair) feeds everything: the addresses, the config hash, the preshared key
   * mode, the topology, the routes. The statement writes only while the row is still at that version,
   * checked under the row's share lock, and whatever changes any of these (the row, or the routes
   * behind nodes, whose changes hold the row's exclusive lock) makes a new version: so the statement
   * vouches for all of it, and when the network is known no read comes before it. The unique
   * constraint on (network, address) keeps addresses apart. When the version moved on, or an address
   * was taken meanwhile (another process), or the pool looks full from what was known, the network is
   * read again and the enrollment tried again. Returns undefined when this path does not apply, or
   * after as many tries as a transaction gets: the caller enrolls through the transaction then, which
   * reads under the lock (and throws NETWORK_NOT_FOUND when there is no network).
   */
  async function enrollAtOnce(
    networkId: string,
    first: repo.EnrollmentRead | undefined,
    made: PreparedNode,
    input: CreateNodeInput,
    ctx: MeshContext,
    session: ClaimSession,
  ): Promise<Enrolled | undefined> {
    /** Read in this enrollment, not known from before: then no version check stands behind a refusal. */
    let fresh = first !== undefined;
    let entry = first ? known.learn(first) : known.get(networkId);
    for (let attempt = 0; attempt <= DEFAULT_TX_RETRIES; attempt++) {
      if (!entry) {
        entry = await readKnown(networkId);
        fresh = true;
        if (!entry) return undefined;
      }
      const { network, version } = entry;
      if (network.topology === "mesh") meshes.add(network.id);
      if (network.topology !== "hub" || entry.hasRoutes || made.publicKey === network.hubPublicKey)
        return undefined;
      let pair: { ip4: string; ip6: string | null };
      try {
        pair = await allocateKnownPair(claims, entry, session);
      } catch (err) {
        // A full pool as known from before may have had addresses freed since (a new version).
        if (fresh || !(err instanceof DomainError && err.code === "ADDRESS_POOL_EXHAUSTED")) throw err;
        known.forget(network.id, version);
        entry = undefined;
        continue;
      }
      const { ip4, ip6 } = pair;
      const { id, publicKey } = made;
      const presharedKeyEnc =
        network.presharedKeys === "off" ? null : sealPresharedKey(id, generatePresharedKey());
      const { spec, facts, values } = newNode(made, network.id, input, { ip4, ip6 }, presharedKeyEnc);
      const actor = actorOf(ctx);
      let written: Awaited<ReturnType<typeof repo.insertNodeAtOnce>>;
      try {
        written = await repo.insertNodeAtOnce(db, {
          version,
          node: values(
            configHash({
              network: toNetworkSpec(network),
              node: spec,
              nodes: [spec],
              presharedKey: openPresharedKey(id, presharedKeyEnc),
            }),
          ),
          audit: auditRow(createdAudit(facts, network, ctx)),
          event: eventRow(
            { type: "node.enrolled", data: nodeEventData(facts, network, { via: "api" }) },
            { source: actor },
          ),
        });
      } catch (err) {
        session.release();
        // A deadlock or serialization failure is retried as the unit of work retries a transaction.
        if (!isRetryableTxError(err))
          try {
            translateConstraint(err, { name: input.name, publicKey });
          } catch (domain) {
            if (!(domain instanceof DomainError && domain.code === "ADDRESS_TAKEN")) throw domain;
          }
        known.forget(network.id, version);
        entry = undefined;
        continue;
      }
      // IMPORTANT: known before the claim goes, so that no enrollment of this process sees the
      // address free in between.
      if (written) known.add(network.id, version, ip4, ip6);
      session.release();
      if (!written) {
        // The network changed (or went) since `version`: nothing was written.
        known.forget(network.id, version);
        entry = undefined;
        continue;
      }
      const { row, lease } = written;
      const effects = newEffects(`node ${input.name} enrolled`);
      addJoined(effects, network.id);
      // Routed by the lease the statement read: it moves without the network row, so it is never
      // taken from what is known of the network.
      if (lease === null) effects.syncQueues.set(network.id, JOBS["network-sync"].queue);
      else if (lease.live) effects.syncQueues.set(network.id, hubQueueName(lease.hubId));
      // As the unit of work's after-commit tasks: the change is in, a lost trigger is repaired by the
      // scheduled reconcile.
      await dispatchEffects(deps.queue, effects, report).catch(() => {});
      return { row, token: made.token, privateKey: made.privateKey, renderedFrom: { network, others: [] } };
    }
    return undefined;
  }

  return {
    /**
     * Enrolls a node. Without a public key the server generates the pair and the result carries the
     * full config (private key included) once. Throws NETWORK_NOT_FOUND, ADDRESS_POOL_EXHAUSTED,
     * PUBLIC_KEY_TAKEN, NODE_NAME_TAKEN.
     */
    async createNode(input: CreateNodeInput, ctx: MeshContext): Promise<CreatedNode> {
      const atOnce = (input.extraAllowedIps ?? []).length === 0 && !meshes.has(input.networkId);
      const made = prepareNode(input.publicKey, sealNodeKey);
      const read =
        atOnce && !known.get(input.networkId) ? await repo.readForEnrollment(db, input.networkId) : undefined;
      const created = await withClaims(
        async (session) =>
          (atOnce ? await enrollAtOnce(input.networkId, read, made, input, ctx, session) : undefined) ??
          commitAndDispatch(
            `node ${input.name} enrolled`,
            (tx, effects) =>
              insertNodeInNetwork(tx, input.networkId, effects, session, made, input, (node, network) => [
                recordAudit(tx, createdAudit(node, network, ctx)),
                emitNodeEvent(tx, "node.enrolled", node, network, { via: "api" }, actorOf(ctx)),
              ]),
            session.release,
          ),
      );
      const result: CreatedNode = { node: toNodeView(created.row), token: created.token };
      if (created.privateKey) {
        // Rendered from what the transaction read when that is all the config depends on: no reads
        // of the network and its routes again.
        const from = created.renderedFrom;
        result.config = from
          ? renderNodeConfig({
              network: toNetworkSpec(from.network),
              node: toNodeSpec(created.row),
              nodes: from.others,
              privateKey: created.privateKey,
              presharedKey: openPresharedKey(created.row.id, created.row.presharedKeyEnc),
            })
          : (await renderFor(db, created.row, true)).text;
      }
      return result;
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
        const prepared = prepareNode(input.publicKey, sealNodeKey, input.nodeId);
        return await withClaims((session) =>
          commitAndDispatch(
            "node registered",
            async (tx, effects) => {
              if (input.nodeId) {
                const network = await requireNetwork(tx, key.networkId, true);
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
                  const token = generateNodeToken();
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
                  await emitNodeEvent(
                    tx,
                    "node.updated",
                    row,
                    network,
                    extra,
                    `enrollment-key:${key.prefix}`,
                  );
                  return { node: toNodeView(row), token };
                }
              }
              if (input.nodeId && (await repo.getNode(tx, input.nodeId))) {
                // Another network's node, or this id with another key: the id is someone else's.
                throw new DomainError(
                  "NODE_ID_TAKEN",
                  `node id ${input.nodeId} belongs to another node: choose another id, or register with that node's network and public key`,
                  { context: { nodeId: input.nodeId } },
                );
              }
              const name =
                input.name ??
                `node-${input.publicKey
                  .replace(/[^A-Za-z0-9]/g, "")
                  .slice(0, 8)
                  .toLowerCase()}`;
              const source = `enrollment-key:${key.prefix}`;
              const made = await insertNodeInNetwork(
                tx,
                key.networkId,
                effects,
                session,
                prepared,
                {
                  name,
                  email: input.email,
                  role: key.role,
                  tags: key.tags,
                  enrollmentKeyId: key.id,
                  ...info,
                },
                (node, network) => [
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
                async () => {
                  if (!(await repo.consumeEnrollmentKey(tx, key.id))) throw invalid();
                },
              );
              const row = made.row;
              return { node: toNodeView(row), token: made.token };
            },
            session.release,
          ),
        );
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
  };
}
