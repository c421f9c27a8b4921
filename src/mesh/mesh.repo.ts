/**
 * Drizzle queries of the mesh. Every function takes the executor first; services own transactions.
 * Over 400 lines on purpose: the mesh's services share these queries and row types across their
 * tables (networks, nodes, enrollment keys, retired peers); split it by table when one grows.
 */
import { and, asc, count, desc, eq, ilike, inArray, isNotNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Executor, NodeMetrics, NodeStatus } from "../db/index.js";
import {
  enrollmentKeys,
  networks,
  nodes,
  placeholderQuery,
  retiredPeers,
  usageMonthly,
} from "../db/index.js";

export type NetworkRow = typeof networks.$inferSelect;
export type NodeRow = typeof nodes.$inferSelect;
export type EnrollmentKeyRow = typeof enrollmentKeys.$inferSelect;

export async function insertNetwork(
  exec: Executor,
  values: typeof networks.$inferInsert,
): Promise<NetworkRow> {
  const [row] = await exec.insert(networks).values(values).returning();
  return row!;
}

/** Serialises the choice of listen ports: held to the end of the transaction that takes it. */
const LISTEN_PORT_LOCK_ID = 0x6c706f72;

/**
 * Takes the listen-port lock and returns the ports other networks (all but `exceptId`) listen on.
 * No constraint can hold them unique: installations made before the check may hold duplicates.
 */
export async function lockListenPorts(exec: Executor, exceptId?: string): Promise<Set<number>> {
  await exec.execute(sql`select pg_advisory_xact_lock(${LISTEN_PORT_LOCK_ID})`);
  const rows = await exec
    .select({ port: networks.listenPort })
    .from(networks)
    .where(exceptId ? sql`${networks.id} <> ${exceptId}` : undefined);
  return new Set(rows.map((r) => r.port));
}

/** The row lock a read by id takes: none, `share` (keeps the row from changing) or `update`. */
export type RowLock = "none" | "share" | "update";

/**
 * A row of `table` by id, with or without a row lock, one placeholder query each: every enrollment
 * and node change takes its network's lock with one, and every node request reads its node.
 */
function rowById<Row>(table: typeof networks | typeof nodes) {
  const statement = (lock: RowLock) =>
    placeholderQuery<{ id: string }, Row>((exec) => {
      const query = exec
        .select()
        .from(table)
        .where(eq(table.id, sql.placeholder("id")));
      return lock === "none" ? query : query.for(lock);
    });
  const statements = { none: statement("none"), share: statement("share"), update: statement("update") };
  return async (exec: Executor, id: string, lock: RowLock | boolean = false): Promise<Row | undefined> =>
    (await statements[lock === true ? "update" : lock === false ? "none" : lock](exec, { id }))[0];
}

const networkById = rowById<NetworkRow>(networks);

export async function getNetwork(
  exec: Executor,
  id: string,
  opts: { forUpdate?: boolean; lock?: RowLock } = {},
): Promise<NetworkRow | undefined> {
  return networkById(exec, id, opts.lock ?? opts.forUpdate ?? false);
}

export async function getNetworks(exec: Executor, ids: string[]): Promise<NetworkRow[]> {
  if (ids.length === 0) return [];
  return exec.select().from(networks).where(inArray(networks.id, ids));
}

export async function getNetworkByName(exec: Executor, name: string): Promise<NetworkRow | undefined> {
  const [row] = await exec.select().from(networks).where(eq(networks.name, name));
  return row;
}

export async function listNetworks(exec: Executor): Promise<(NetworkRow & { nodeCount: number })[]> {
  const counts = exec
    .select({ networkId: nodes.networkId, n: count().as("n") })
    .from(nodes)
    .groupBy(nodes.networkId)
    .as("counts");
  const rows = await exec
    .select({ network: networks, n: counts.n })
    .from(networks)
    .leftJoin(counts, eq(counts.networkId, networks.id))
    .orderBy(asc(networks.name));
  return rows.map((r) => ({ ...r.network, nodeCount: Number(r.n ?? 0) }));
}

export async function updateNetwork(
  exec: Executor,
  id: string,
  values: Partial<typeof networks.$inferInsert>,
): Promise<NetworkRow | undefined> {
  const [row] = await exec
    .update(networks)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(networks.id, id))
    .returning();
  return row;
}

export async function deleteNetwork(exec: Executor, id: string): Promise<NetworkRow | undefined> {
  const [row] = await exec.delete(networks).where(eq(networks.id, id)).returning();
  return row;
}

export async function countNodes(exec: Executor, networkId: string): Promise<number> {
  const [row] = await exec.select({ n: count() }).from(nodes).where(eq(nodes.networkId, networkId));
  return row?.n ?? 0;
}

/**
 * Addresses in use in a network (the hub's is implicit), and whether any node carries routes for
 * others (then configs depend on each other).
 */
export interface UsedAddresses {
  ip4: string[];
  ip6: string[];
  /** Some node carries routes for others. */
  hasRoutes: boolean;
}

/** A node that carries routes for others: other nodes' configs then depend on it. */
const CARRIES_ROUTES = sql`cardinality(${nodes.extraAllowedIps}) > 0`;

const USED_ADDRESS_COLUMNS = {
  ip4: sql<string | null>`string_agg(host(${nodes.ip4}), ',')`,
  ip6: sql<string | null>`string_agg(host(${nodes.ip6}), ',')`,
  hasRoutes: sql<boolean | null>`bool_or(${CARRIES_ROUTES})`,
};
const usedAddressRow = placeholderQuery<
  { networkId: string },
  { ip4: string | null; ip6: string | null; hasRoutes: boolean | null }
>((exec) =>
  exec
    .select(USED_ADDRESS_COLUMNS)
    .from(nodes)
    .where(eq(nodes.networkId, sql.placeholder("networkId"))),
);

/**
 * Read as one row of joined text whatever the network's size: it runs under the network's lock for
 * every enrollment, and mapping a row per node was most of an enrollment's CPU time in a network of
 * thousands of nodes.
 */
export async function usedAddresses(exec: Executor, networkId: string): Promise<UsedAddresses> {
  const [row] = await usedAddressRow(exec, { networkId });
  return {
    ip4: row?.ip4 ? row.ip4.split(",") : [],
    ip6: row?.ip6 ? row.ip6.split(",") : [],
    hasRoutes: row?.hasRoutes === true,
  };
}

/** The columns an enrollment sets, every one of them (`null` where unknown); the rest take their defaults. */
const NEW_NODE_COLUMNS = [
  "id",
  "networkId",
  "name",
  "email",
  "publicKey",
  "privateKeyEnc",
  "ip4",
  "ip6",
  "endpoint",
  "role",
  "extraAllowedIps",
  "tags",
  "natType",
  "networkInfo",
  "capabilities",
  "location",
  "configHash",
  "tokenHash",
  "enrollmentKeyId",
] as const;
export type NewNode = Required<Pick<typeof nodes.$inferInsert, (typeof NEW_NODE_COLUMNS)[number]>>;

const insertNodeRow = placeholderQuery<NewNode, NodeRow>((exec) =>
  exec
    .insert(nodes)
    .values(Object.fromEntries(NEW_NODE_COLUMNS.map((c) => [c, sql.placeholder(c)])) as never)
    .returning(),
);

export async function insertNode(exec: Executor, values: NewNode): Promise<NodeRow> {
  const [row] = await insertNodeRow(exec, values);
  return row!;
}

const nodeById = rowById<NodeRow>(nodes);

export async function getNode(
  exec: Executor,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<NodeRow | undefined> {
  return nodeById(exec, id, opts.forUpdate);
}

// Read by every config download: the node with its network, one statement built once on the pool.
const nodeWithNetworkRow = placeholderQuery<{ id: string }, { node: NodeRow; network: NetworkRow }>((exec) =>
  exec
    .select({ node: nodes, network: networks })
    .from(nodes)
    .innerJoin(networks, eq(networks.id, nodes.networkId))
    .where(eq(nodes.id, sql.placeholder("id"))),
);

/** A node and its network in one read (a config download's), or undefined when the node is gone. */
export async function nodeWithNetwork(
  exec: Executor,
  id: string,
): Promise<{ node: NodeRow; network: NetworkRow } | undefined> {
  return (await nodeWithNetworkRow(exec, { id }))[0];
}

export async function nodesOfNetwork(exec: Executor, networkId: string): Promise<NodeRow[]> {
  return exec.select().from(nodes).where(eq(nodes.networkId, networkId)).orderBy(asc(nodes.ip4));
}

/** The columns a config is rendered from, plus its stored hash: a light read for config refreshes. */
const CONFIG_COLUMNS = {
  id: nodes.id,
  name: nodes.name,
  publicKey: nodes.publicKey,
  ip4: nodes.ip4,
  ip6: nodes.ip6,
  endpoint: nodes.endpoint,
  endpointCandidates: nodes.endpointCandidates,
  extraAllowedIps: nodes.extraAllowedIps,
  status: nodes.status,
  presharedKeyEnc: nodes.presharedKeyEnc,
  configHash: nodes.configHash,
};

/** A node's config inputs and stored hash (`configRows`). */
export type ConfigRow = Awaited<ReturnType<typeof configRows>>[number];

/** The nodes of a network whose latest config version has not been announced to them. */
export async function unpushedConfigs(exec: Executor, networkId: string) {
  return exec
    .select({ id: nodes.id, version: nodes.configVersion })
    .from(nodes)
    .where(and(eq(nodes.networkId, networkId), lt(nodes.configPushedVersion, nodes.configVersion)));
}

/** `CONFIG_COLUMNS` of a network's nodes (those `filter` keeps), by address. */
function configRowsWhere(exec: Executor, networkId: string, filter: SQL | undefined) {
  return exec
    .select(CONFIG_COLUMNS)
    .from(nodes)
    .where(and(eq(nodes.networkId, networkId), filter))
    .orderBy(asc(nodes.ip4));
}

export async function configRows(exec: Executor, networkId: string, ids?: readonly string[]) {
  return configRowsWhere(exec, networkId, ids ? inArray(nodes.id, [...ids]) : undefined);
}

/**
 * `configRows` of the nodes that carry routes for others: all a hub-topology config needs of the
 * other nodes, and usually none or a few of a network's thousands.
 */
export async function routeRows(exec: Executor, networkId: string): Promise<ConfigRow[]> {
  return routeRowsOf(exec, { networkId });
}

// Read by every config download and hub enrollment: built once on the pool.
const routeRowsOf = placeholderQuery<{ networkId: string }, ConfigRow>((exec) =>
  exec
    .select(CONFIG_COLUMNS)
    .from(nodes)
    .where(and(eq(nodes.networkId, sql.placeholder("networkId")), CARRIES_ROUTES))
    .orderBy(asc(nodes.ip4)),
);

/** True when some node of the network carries routes for others (their configs then depend on each other). */
export async function hasRoutes(exec: Executor, networkId: string): Promise<boolean> {
  const [row] = await exec
    .select({ n: count() })
    .from(nodes)
    .where(and(eq(nodes.networkId, networkId), CARRIES_ROUTES));
  return (row?.n ?? 0) > 0;
}

export async function nodesByEmail(exec: Executor, email: string): Promise<NodeRow[]> {
  return exec.select().from(nodes).where(sql`lower(${nodes.email}) = ${email.toLowerCase()}`);
}

export interface NodeFilter {
  networkId?: string | undefined;
  status?: NodeStatus | undefined;
  email?: string | undefined;
  q?: string | undefined;
  limit: number;
  offset: number;
}

export async function listNodes(exec: Executor, f: NodeFilter): Promise<{ items: NodeRow[]; total: number }> {
  const pattern = f.q ? `%${f.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%` : undefined;
  const where = and(
    f.networkId ? eq(nodes.networkId, f.networkId) : undefined,
    f.status ? eq(nodes.status, f.status) : undefined,
    f.email ? sql`lower(${nodes.email}) = ${f.email.toLowerCase()}` : undefined,
    pattern
      ? or(
          ilike(nodes.name, pattern),
          ilike(nodes.email, pattern),
          ilike(nodes.publicKey, pattern),
          sql`host(${nodes.ip4}) like ${pattern}`,
        )
      : undefined,
  );
  const [items, [total]] = await Promise.all([
    exec
      .select()
      .from(nodes)
      .where(where)
      .orderBy(desc(nodes.createdAt), asc(nodes.id))
      .limit(f.limit)
      .offset(f.offset),
    exec.select({ n: count() }).from(nodes).where(where),
  ]);
  return { items, total: total?.n ?? 0 };
}

export async function updateNode(
  exec: Executor,
  id: string,
  values: Partial<typeof nodes.$inferInsert>,
): Promise<NodeRow | undefined> {
  const [row] = await exec
    .update(nodes)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(nodes.id, id))
    .returning();
  return row;
}

// Agents report every few seconds: the common heartbeat (no new endpoint) is one statement.
const heartbeatRow = placeholderQuery<
  {
    id: string;
    metrics: NodeMetrics;
    seenAt: Date;
    status: NodeStatus;
    appliedConfigVersion: number | null;
    agentVersion: string | null;
  },
  NodeRow
>((exec) =>
  exec
    .update(nodes)
    .set({
      // drizzle's types take no placeholder in `set`; it encodes one with its column all the same.
      metrics: sql.placeholder("metrics") as never,
      lastSeenAt: sql.placeholder("seenAt") as never,
      updatedAt: sql.placeholder("seenAt") as never,
      status: sql.placeholder("status") as never,
      appliedConfigVersion: sql`coalesce(${sql.placeholder("appliedConfigVersion")}::integer, ${nodes.appliedConfigVersion})`,
      agentVersion: sql`coalesce(${sql.placeholder("agentVersion")}::text, ${nodes.agentVersion})`,
    })
    .where(eq(nodes.id, sql.placeholder("id")))
    .returning(),
);

/**
 * Stores a heartbeat's metrics, time, the status it supports, the config version the agent
 * reported running and the agent's version (each kept when the heartbeat names none).
 */
export async function recordHeartbeat(
  exec: Executor,
  id: string,
  heartbeat: {
    metrics: NodeMetrics;
    seenAt: Date;
    status: NodeStatus;
    appliedConfigVersion: number | null;
    agentVersion?: string | undefined;
  },
): Promise<NodeRow | undefined> {
  const [row] = await heartbeatRow(exec, { id, ...heartbeat, agentVersion: heartbeat.agentVersion ?? null });
  return row;
}

const steadyHeartbeatRow = placeholderQuery<
  {
    id: string;
    metrics: NodeMetrics;
    seenAt: Date;
    status: NodeStatus;
    /** ISO text: a placeholder outside a column's own comparison gets no Date mapping from drizzle. */
    lastHandshakeAt: string | null;
    appliedConfigVersion: number | null;
    agentVersion: string | null;
  },
  NodeRow
>((exec) =>
  exec
    .update(nodes)
    .set({
      metrics: sql.placeholder("metrics") as never,
      lastSeenAt: sql.placeholder("seenAt") as never,
      updatedAt: sql.placeholder("seenAt") as never,
      appliedConfigVersion: sql`coalesce(${sql.placeholder("appliedConfigVersion")}::integer, ${nodes.appliedConfigVersion})`,
      agentVersion: sql`coalesce(${sql.placeholder("agentVersion")}::text, ${nodes.agentVersion})`,
    })
    .where(
      and(
        eq(nodes.id, sql.placeholder("id")),
        eq(nodes.status, sql.placeholder("status")),
        sql`${nodes.lastHandshakeAt} is not distinct from ${sql.placeholder("lastHandshakeAt")}::timestamptz`,
      ),
    )
    .returning(),
);

/**
 * `recordHeartbeat` for a heartbeat that keeps the node's status, in one statement outside any
 * transaction: stores it only while the row still has the `status` and `lastHandshakeAt` the caller
 * decided from (the row's lock, taken by the update, makes the check and the write one step).
 * Returns undefined, changing nothing, when the node is gone or either has changed.
 */
export async function recordSteadyHeartbeat(
  exec: Executor,
  id: string,
  heartbeat: {
    metrics: NodeMetrics;
    seenAt: Date;
    appliedConfigVersion: number | null;
    agentVersion?: string | undefined;
  },
  expected: { status: NodeStatus; lastHandshakeAt: Date | null },
): Promise<NodeRow | undefined> {
  const [row] = await steadyHeartbeatRow(exec, {
    id,
    ...heartbeat,
    status: expected.status,
    lastHandshakeAt: expected.lastHandshakeAt?.toISOString() ?? null,
    agentVersion: heartbeat.agentVersion ?? null,
  });
  return row;
}

export async function deleteNodes(exec: Executor, ids: string[]): Promise<NodeRow[]> {
  if (ids.length === 0) return [];
  return exec.delete(nodes).where(inArray(nodes.id, ids)).returning();
}

/** Locks the up nodes (online or degraded) not seen since `before`, skipping rows others hold. */
export async function lockSilentNodes(exec: Executor, before: Date): Promise<NodeRow[]> {
  return exec
    .select()
    .from(nodes)
    .where(and(inArray(nodes.status, ["online", "degraded"]), lt(nodes.lastSeenAt, before)))
    .for("update", { skipLocked: true });
}

export async function setConfigState(
  exec: Executor,
  id: string,
  hash: string,
  bump: boolean,
): Promise<number> {
  const [row] = await exec
    .update(nodes)
    .set({ configHash: hash, ...(bump ? { configVersion: sql`${nodes.configVersion} + 1` } : {}) })
    .where(eq(nodes.id, id))
    .returning({ version: nodes.configVersion });
  return row?.version ?? 0;
}

/** A node's new config hash, and whether its config version goes up with it. */
export interface ConfigState {
  id: string;
  hash: string;
  bump: boolean;
}

/**
 * `setConfigState` for many nodes, a thousand per statement: a change to a whole network (its DNS,
 * say) rewrites every node's hash, and one statement per node held the network's lock for seconds.
 * Returns each node's config version.
 */
export async function setConfigStates(
  exec: Executor,
  states: readonly ConfigState[],
): Promise<Map<string, number>> {
  const versions = new Map<string, number>();
  for (let i = 0; i < states.length; i += 1_000) {
    const values = sql.join(
      states.slice(i, i + 1_000).map((s) => sql`(${s.id}::uuid, ${s.hash}::text, ${s.bump}::boolean)`),
      sql`, `,
    );
    const rows = await exec
      .update(nodes)
      .set({
        configHash: sql`v.hash`,
        configVersion: sql`${nodes.configVersion} + case when v.bump then 1 else 0 end`,
      })
      .from(sql`(values ${values}) as v(id, hash, bump)`)
      .where(sql`${nodes.id} = v.id`)
      .returning({ id: nodes.id, version: nodes.configVersion });
    for (const row of rows) versions.set(row.id, row.version);
  }
  return versions;
}

export async function retirePeers(exec: Executor, networkId: string, publicKeys: string[]): Promise<void> {
  if (publicKeys.length === 0) return;
  await exec
    .insert(retiredPeers)
    .values(publicKeys.map((publicKey) => ({ networkId, publicKey })))
    .onConflictDoUpdate({
      target: [retiredPeers.networkId, retiredPeers.publicKey],
      set: { retiredAt: new Date() },
    });
}

const deleteRetiredPeer = placeholderQuery<{ networkId: string; publicKey: string }>((exec) =>
  exec
    .delete(retiredPeers)
    .where(
      and(
        eq(retiredPeers.networkId, sql.placeholder("networkId")),
        eq(retiredPeers.publicKey, sql.placeholder("publicKey")),
      ),
    ),
);

/** A key that comes back (re-enrolled, re-enabled) is no longer retired. Runs in every enrollment. */
export async function unretirePeer(exec: Executor, networkId: string, publicKey: string): Promise<void> {
  await deleteRetiredPeer(exec, { networkId, publicKey });
}

/** A node's peer columns as the hub's interface needs them: addresses without their prefixes. */
export interface HubPeerRow {
  id: string;
  publicKey: string;
  ip4: string;
  ip6: string | null;
  endpoint: string | null;
  extraAllowedIps: string[];
  status: NodeStatus;
  /** Sealed (`node:<id>:psk`); opened only for the hub's interface. */
  presharedKeyEnc: string | null;
  presharedKeyManaged: boolean;
}

// Addresses come without their prefixes from Postgres (`host()`): at thousands of nodes, copying rows
// to strip them was a part of every peer sync's read.
const hubPeerRows = placeholderQuery<{ networkId: string }, HubPeerRow>((exec) =>
  exec
    .select({
      id: sql`${nodes.id}`.as("id"),
      publicKey: sql`${nodes.publicKey}`.as("publicKey"),
      ip4: sql`host(${nodes.ip4})`.as("ip4"),
      ip6: sql`host(${nodes.ip6})`.as("ip6"),
      endpoint: sql`${nodes.endpoint}`.as("endpoint"),
      extraAllowedIps: sql`${nodes.extraAllowedIps}`.as("extraAllowedIps"),
      status: sql`${nodes.status}`.as("status"),
      presharedKeyEnc: sql`${nodes.presharedKeyEnc}`.as("presharedKeyEnc"),
      presharedKeyManaged: sql`${nodes.presharedKeyManaged}`.as("presharedKeyManaged"),
    })
    .from(nodes)
    .where(eq(nodes.networkId, sql.placeholder("networkId")))
    .orderBy(asc(nodes.ip4)),
);

/** The peer columns of every node of a network (every peer sync reads them), by address. */
export function hubPeers(exec: Executor, networkId: string): Promise<HubPeerRow[]> {
  return hubPeerRows(exec, { networkId });
}

const retiredKeyRows = placeholderQuery<{ networkId: string }, { k: string }>((exec) =>
  exec
    .select({ k: sql`${retiredPeers.publicKey}`.as("k") })
    .from(retiredPeers)
    .where(eq(retiredPeers.networkId, sql.placeholder("networkId"))),
);

/** The keys retired in a network: peers the hub must drop. */
export async function retiredKeys(exec: Executor, networkId: string): Promise<string[]> {
  return (await retiredKeyRows(exec, { networkId })).map((r) => r.k);
}

export async function deleteUsageOf(exec: Executor, nodeIds: string[]): Promise<void> {
  if (nodeIds.length === 0) return;
  await exec.delete(usageMonthly).where(inArray(usageMonthly.nodeId, nodeIds));
}

export async function insertEnrollmentKey(
  exec: Executor,
  values: typeof enrollmentKeys.$inferInsert,
): Promise<EnrollmentKeyRow> {
  const [row] = await exec.insert(enrollmentKeys).values(values).returning();
  return row!;
}

export async function listEnrollmentKeys(exec: Executor, networkId?: string): Promise<EnrollmentKeyRow[]> {
  return exec
    .select()
    .from(enrollmentKeys)
    .where(networkId ? eq(enrollmentKeys.networkId, networkId) : undefined)
    .orderBy(desc(enrollmentKeys.createdAt));
}

export async function revokeEnrollmentKey(exec: Executor, id: string): Promise<EnrollmentKeyRow | undefined> {
  const [row] = await exec
    .update(enrollmentKeys)
    .set({ revokedAt: sql`coalesce(${enrollmentKeys.revokedAt}, now())` })
    .where(eq(enrollmentKeys.id, id))
    .returning();
  return row;
}

export async function findEnrollmentKeyByPrefix(
  exec: Executor,
  prefix: string,
): Promise<EnrollmentKeyRow | undefined> {
  const [row] = await exec.select().from(enrollmentKeys).where(eq(enrollmentKeys.prefix, prefix));
  return row;
}

/**
 * Takes one use of an enrollment key, atomically: returns undefined when the key is revoked, expired
 * or used up. Two racing registrations on a one-use key: exactly one gets the row.
 */
export async function consumeEnrollmentKey(
  exec: Executor,
  id: string,
): Promise<EnrollmentKeyRow | undefined> {
  const [row] = await exec
    .update(enrollmentKeys)
    .set({ uses: sql`${enrollmentKeys.uses} + 1`, lastUsedAt: new Date() })
    .where(
      and(
        eq(enrollmentKeys.id, id),
        sql`${enrollmentKeys.revokedAt} is null`,
        sql`(${enrollmentKeys.expiresAt} is null or ${enrollmentKeys.expiresAt} > now())`,
        sql`(case when ${enrollmentKeys.reusable} then ${enrollmentKeys.maxUses} is null or ${enrollmentKeys.uses} < ${enrollmentKeys.maxUses} else ${enrollmentKeys.uses} < 1 end)`,
      ),
    )
    .returning();
  return row;
}

/** Ids of the networks whose hub key rotation is under way. */
export async function networksRotatingHubKey(exec: Executor): Promise<string[]> {
  const rows = await exec
    .select({ id: networks.id })
    .from(networks)
    .where(isNotNull(networks.hubNextPublicKey));
  return rows.map((r) => r.id);
}
