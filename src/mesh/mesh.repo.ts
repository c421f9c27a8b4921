/**
 * Drizzle queries of the mesh. Every function takes the executor first; services own transactions.
 * Over 400 lines on purpose: the mesh's services share these queries and row types across their
 * tables (networks, nodes, enrollment keys, retired peers); split it by table when one grows.
 */
import {
  and,
  asc,
  count,
  desc,
  eq,
  getTableColumns,
  ilike,
  inArray,
  isNotNull,
  lt,
  or,
  type SQL,
  sql,
} from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import { alias } from "drizzle-orm/pg-core";
import type { AuditRow } from "../audit/index.js";
import type { Executor, NodeEndpointCandidates, NodeMetrics, NodeStatus } from "../db/index.js";
import {
  auditLog,
  enrollmentKeys,
  events,
  networkLeases,
  networks,
  nodes,
  pendingJoins,
  placeholderQuery,
  placeholderStatement,
  retiredPeers,
  usageMonthly,
} from "../db/index.js";
import { pgColumn, pgErrorCode } from "../errors.js";

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
      // IMPORTANT: a network's exclusive lock is an update that changes nothing but the row's version
      // (`xmin`): an enrollment that read the network before taking its lock (`insertNodeAtOnce`)
      // tells by the version alone that an exclusive holder came between, whatever it changed
      // (the network, or the routes behind its nodes). It locks as FOR NO KEY UPDATE, which conflicts
      // with enrollments' FOR SHARE and every other change's lock as FOR UPDATE did.
      if (lock === "update" && table === networks)
        return exec
          .update(networks)
          .set({ id: sql`${networks.id}` })
          .where(eq(networks.id, sql.placeholder("id")))
          .returning();
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
  /**
   * The network's hub lease as read alongside (src/hubs routes its peer syncs by it): null when no
   * hub host ever held it. Read here so that an enrollment's dispatch needs no read of its own.
   */
  lease: { hubId: string; live: boolean } | null;
}

/** A node that carries routes for others: other nodes' configs then depend on it. */
const CARRIES_ROUTES = sql`cardinality(${nodes.extraAllowedIps}) > 0`;

/**
 * The hub lease of the network `networkId` (a placeholder) as text, read by `leaseOf`: '' when no host
 * ever held the network; else whether the lease is live, then the holder.
 */
const LEASE = sql<string>`coalesce((select case when ${networkLeases.expiresAt} > now() then 'live:' else 'gone:' end || ${networkLeases.hubId}
    from ${networkLeases} where ${networkLeases.networkId} = ${sql.placeholder("networkId")}), '')`;

const leaseOf = (text: string | null | undefined): UsedAddresses["lease"] =>
  text ? { hubId: text.slice(5), live: text.startsWith("live:") } : null;

const USED_ADDRESS_COLUMNS = {
  ip4: sql<string | null>`string_agg(host(${nodes.ip4}), ',')`,
  ip6: sql<string | null>`string_agg(host(${nodes.ip6}), ',')`,
  hasRoutes: sql<boolean | null>`bool_or(${CARRIES_ROUTES})`,
  lease: LEASE,
};
const usedAddressRow = placeholderQuery<
  { networkId: string },
  { ip4: string | null; ip6: string | null; hasRoutes: boolean | null; lease: string }
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
    lease: leaseOf(row?.lease),
  };
}

/** A network as an enrollment reads it before its statement (`insertNodeAtOnce`). */
export interface EnrollmentRead {
  network: NetworkRow;
  /** The network row's version (`xmin`): `insertNodeAtOnce` writes only while it is still this one. */
  version: string;
  /** As in `UsedAddresses`. */
  lease: UsedAddresses["lease"];
  /**
   * The addresses in use and whether a node carries routes; left out (not read) when the version is
   * the one the caller said it knows them for.
   */
  used?: Omit<UsedAddresses, "lease">;
}

/**
 * `expr` over the network's nodes (`n`), unless the caller knows them for this version of the row
 * (then null). Foot-gun: written out, since drizzle leaves the table off the columns of a one-table
 * select, and an unqualified "id" in the subquery would be the node's.
 */
const unlessKnown = <T>(expr: string) =>
  sql<T | null>`case when "networks".xmin::text = ${sql.placeholder("knownVersion")} then null
    else (select ${sql.raw(expr)} from "nodes" n where n.network_id = "networks"."id") end`;

const enrollmentReadRow = placeholderQuery<
  { networkId: string; knownVersion: string },
  {
    network: NetworkRow;
    version: string;
    ip4: string | null;
    ip6: string | null;
    hasRoutes: boolean | null;
    lease: string;
  }
>((exec) =>
  exec
    .select({
      network: networks,
      version: sql<string>`"networks".xmin::text`,
      ip4: unlessKnown<string>(`coalesce(string_agg(host(n.ip4), ','), '')`),
      ip6: unlessKnown<string>(`coalesce(string_agg(host(n.ip6), ','), '')`),
      hasRoutes: unlessKnown<boolean>("coalesce(bool_or(cardinality(n.extra_allowed_ips) > 0), false)"),
      lease: LEASE,
    })
    .from(networks)
    .where(eq(networks.id, sql.placeholder("networkId"))),
);

/**
 * The network (undefined when there is none), its row's version and hub lease, and unless
 * `knownVersion` is the version, its addresses in use and whether a node carries routes: in one
 * statement and so from one snapshot. The version vouches for the addresses' routes (every change of
 * them holds the network's exclusive lock, which makes a new version), and for the addresses apart
 * from those other enrollments took since (which do not change the row).
 */
export async function readForEnrollment(
  exec: Executor,
  networkId: string,
  knownVersion = "",
): Promise<EnrollmentRead | undefined> {
  const [row] = await enrollmentReadRow(exec, { networkId, knownVersion });
  if (!row) return undefined;
  return {
    network: row.network,
    version: row.version,
    lease: leaseOf(row.lease),
    ...(row.ip4 === null
      ? {}
      : {
          used: {
            ip4: row.ip4 ? row.ip4.split(",") : [],
            ip6: row.ip6 ? row.ip6.split(",") : [],
            hasRoutes: row.hasRoutes === true,
          },
        }),
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
  "presharedKeyEnc",
  "presharedKeyManaged",
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

const insertPendingJoinRow = placeholderQuery<{ networkId: string; nodeId: string }>((exec) =>
  exec
    .insert(pendingJoins)
    .values({ networkId: sql.placeholder("networkId"), nodeId: sql.placeholder("nodeId") } as never)
    .onConflictDoNothing(),
);

/**
 * Records that `nodeId` joined `networkId` and its hub peer is yet to be applied (`pending_joins`).
 * IMPORTANT: in the transaction that inserts the node, so that the row is committed with it and
 * before the trigger that asks for its apply is queued.
 */
export async function insertPendingJoin(exec: Executor, networkId: string, nodeId: string): Promise<void> {
  await insertPendingJoinRow(exec, { networkId, nodeId });
}

/** A node row as Postgres names its columns (a raw statement's answer), mapped as drizzle maps it. */
const NODE_FIELDS = Object.entries(getTableColumns(nodes)).map(([key, column]) => ({
  key,
  name: toSnakeCase(key),
  column,
}));
function nodeRowOf(raw: Record<string, unknown>): NodeRow {
  const row: Record<string, unknown> = {};
  for (const { key, name, column } of NODE_FIELDS) {
    const value = raw[name];
    row[key] = value === null || value === undefined ? null : column.mapFromDriverValue(value);
  }
  return row as NodeRow;
}

/** What an enrollment writes besides the node, as `insertNodeAtOnce` writes it. */
export interface EnrollmentWrites {
  audit: AuditRow;
  /** The outbox event, sanitised (`eventRow` of src/events). */
  event: { type: string; data: Record<string, unknown>; source: string };
}

const placeholders = <K extends string>(keys: readonly K[], prefix: string) =>
  Object.fromEntries(keys.map((k) => [k, sql.placeholder(`${prefix}${k}`)])) as Record<K, never>;
const AUDIT_KEYS = ["actor", "action", "entityType", "entityId", "details", "requestId"] as const;
const EVENT_KEYS = ["type", "data", "source"] as const;

const insertNodeAtOnceRow = placeholderStatement<Record<string, unknown>, Record<string, unknown>>(
  (exec) => sql`with locked as (
      select ${networks.id} as id from ${networks}
      where ${networks.id} = ${sql.placeholder("networkId")}
        and ${networks}.xmin = ${sql.placeholder("version")}::text::xid
      for share
    ), unretired as (${exec
      .delete(retiredPeers)
      .where(
        and(
          eq(retiredPeers.networkId, sql.placeholder("networkId")),
          eq(retiredPeers.publicKey, sql.placeholder("publicKey")),
        ),
      )
      .getSQL()}), audit as (${exec
      .insert(auditLog)
      .values(placeholders(AUDIT_KEYS, "audit."))
      .getSQL()}), event as (${exec
      .insert(events)
      .values(placeholders(EVENT_KEYS, "event."))
      .getSQL()}), node as (${exec
      .insert(nodes)
      .values({
        ...placeholders(NEW_NODE_COLUMNS, ""),
        networkId: sql`(select id from locked)`,
      } as never)
      .returning()
      .getSQL()}), joined as (
      insert into ${pendingJoins} (network_id, node_id) select network_id, id from node
      on conflict do nothing
    )
    select node.*, ${LEASE} as network_lease from node`,
);

/**
 * An enrollment's writes as ONE statement, without a transaction around it: it takes the network's
 * shared lock, and only while the row's version is still `version` (read by `readForEnrollment`, maybe
 * by an enrollment before this one) inserts the node with what goes with it (its audit row and outbox
 * event, the cleanup of its key as a retired peer, its pending join), all or none. The lock is held for this statement
 * alone. Also answers the network's hub lease, read as `usedAddresses` reads it: the lease changes
 * without the network row, so what the caller knows of the row at `version` says nothing of it.
 *
 * Returns the node and the lease, or undefined when the network changed (or went) since `version`
 * was read: the statement then fails on the node's NOT NULL network and writes nothing. Throws what
 * Postgres throws otherwise, e.g. a unique violation (an address, name or key taken meanwhile).
 */
export async function insertNodeAtOnce(
  exec: Executor,
  args: { node: NewNode; version: string } & EnrollmentWrites,
): Promise<{ row: NodeRow; lease: UsedAddresses["lease"] } | undefined> {
  const params: Record<string, unknown> = { ...args.node, version: args.version };
  for (const k of AUDIT_KEYS) params[`audit.${k}`] = args.audit[k];
  for (const k of EVENT_KEYS) params[`event.${k}`] = args.event[k];
  try {
    const [raw] = await insertNodeAtOnceRow(exec, params);
    return raw ? { row: nodeRowOf(raw), lease: leaseOf(raw.network_lease as string) } : undefined;
  } catch (err) {
    // 23502: the node's network is null, i.e. `locked` found no row of that version.
    if (pgErrorCode(err) === "23502" && pgColumn(err) === "network_id") return undefined;
    throw err;
  }
}

const nodeById = rowById<NodeRow>(nodes);

export async function getNode(
  exec: Executor,
  id: string,
  opts: { forUpdate?: boolean } = {},
): Promise<NodeRow | undefined> {
  return nodeById(exec, id, opts.forUpdate);
}

/**
 * The node of `id` locked for update, only while its token's hash is `tokenHash`: a caller whose
 * token does not match gets undefined and takes no lock.
 */
export async function lockNodeByToken(
  exec: Executor,
  id: string,
  tokenHash: string,
): Promise<NodeRow | undefined> {
  const [row] = await exec
    .select()
    .from(nodes)
    .where(and(eq(nodes.id, id), eq(nodes.tokenHash, tokenHash)))
    .for("update");
  return row;
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

/** True when the `tokenHash` placeholder is null (the caller is authenticated) or the node's token's. */
const tokenMatches = () =>
  sql`(${sql.placeholder("tokenHash")}::text is null or ${nodes.tokenHash} = ${sql.placeholder("tokenHash")}::text)`;

/**
 * A config download's audit row, written from the node's row itself (when the server holds its
 * private key), as a statement to put in front of the node's read.
 */
const keyReadAudit = (exec: Executor) =>
  exec.insert(auditLog).select(
    exec
      // drizzle takes every column of the table here, in its order: the defaults are spelt out.
      .select({
        id: sql<number>`nextval(pg_get_serial_sequence('audit_log', 'id'))`.as("id"),
        at: sql<Date>`now()`.as("at"),
        actor: sql<string>`${sql.placeholder("actor")}::text`.as("actor"),
        action:
          sql<string>`case when ${nodes.privateKeyEnc} is not null then 'node.private-key-read' else 'node.preshared-key-read' end`.as(
            "action",
          ),
        entityType: sql<string>`'node'`.as("entity_type"),
        entityId: sql<string>`${nodes.id}::text`.as("entity_id"),
        details: sql<
          Record<string, unknown>
        >`jsonb_build_object('networkId', ${nodes.networkId}, 'format', ${sql.placeholder("format")}::text)`.as(
          "details",
        ),
        requestId: sql<string | null>`${sql.placeholder("requestId")}::text`.as("request_id"),
      })
      .from(nodes)
      .where(
        and(
          eq(nodes.id, sql.placeholder("id")),
          tokenMatches(),
          or(
            isNotNull(nodes.privateKeyEnc),
            and(
              sql`${sql.placeholder("auditPresharedKeys")}::boolean`,
              or(
                isNotNull(nodes.presharedKeyEnc),
                sql`exists (select 1 from ${networks} where ${networks.id} = ${nodes.networkId} and ${networks.topology} = 'mesh' and ${networks.presharedKeySecretEnc} is not null)`,
              ),
            ),
          ),
        ),
      ),
  );

/**
 * `routeRows` of the node's own network as one JSON value, for a read of the node to carry (keys and
 * values as drizzle maps `CONFIG_COLUMNS`: inet and text as strings, jsonb and arrays as JSON).
 */
const routeNode = alias(nodes, "route_node");
const routedOfNetwork = sql<ConfigRow[]>`(select coalesce(json_agg(json_build_object(
  'id', ${routeNode.id}, 'name', ${routeNode.name}, 'publicKey', ${routeNode.publicKey},
  'ip4', ${routeNode.ip4}, 'ip6', ${routeNode.ip6}, 'endpoint', ${routeNode.endpoint},
  'endpointCandidates', ${routeNode.endpointCandidates}, 'extraAllowedIps', ${routeNode.extraAllowedIps},
  'status', ${routeNode.status}, 'presharedKeyEnc', ${routeNode.presharedKeyEnc},
  'configHash', ${routeNode.configHash}) order by ${routeNode.ip4}), '[]'::json)
  from ${nodes} ${routeNode}
  where ${routeNode.networkId} = ${nodes.networkId} and cardinality(${routeNode.extraAllowedIps}) > 0)`;

// Postgres runs a data-modifying WITH once, whether or not the query reads it: one round trip.
const auditedNodeWithNetworkRow = placeholderQuery<
  {
    id: string;
    actor: string;
    format: string;
    requestId: string | null;
    auditPresharedKeys: boolean;
    tokenHash: string | null;
  },
  { node: NodeRow; network: NetworkRow; routed: ConfigRow[] }
>((exec) => {
  const audited = exec.$with("key_read", {}).as(keyReadAudit(exec).getSQL());
  return exec
    .with(audited)
    .select({ node: nodes, network: networks, routed: routedOfNetwork })
    .from(nodes)
    .innerJoin(networks, eq(networks.id, nodes.networkId))
    .where(and(eq(nodes.id, sql.placeholder("id")), tokenMatches()));
});

/**
 * `nodeWithNetwork` for a download of the node's config, with the `routeRows` of its network (all a
 * hub-topology config needs of the other nodes), audited in the same statement when it
 * carries a secret (who, which node, its network and the format, never the secret): every download
 * with the node's private key (`node.private-key-read`), and, when `auditPresharedKeys` (an admin's
 * download), one that carries preshared keys only (`node.preshared-key-read`: the hub's, or a mesh's
 * pair keys). Audits nothing when the node is gone or its config carries no secret to audit. With
 * `tokenHash` (a node token not yet authenticated), reads and audits only while the node's token is
 * that one: the download's own authentication, in the same statement.
 */
export async function auditedNodeWithNetwork(
  exec: Executor,
  id: string,
  entry: {
    actor: string;
    format: "conf" | "qr";
    requestId: string | null;
    auditPresharedKeys: boolean;
    tokenHash?: string | undefined;
  },
): Promise<{ node: NodeRow; network: NetworkRow; routed: ConfigRow[] } | undefined> {
  return (await auditedNodeWithNetworkRow(exec, { id, ...entry, tokenHash: entry.tokenHash ?? null }))[0];
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

/**
 * What every heartbeat writes, in both statements below: metrics, time, and the applied config
 * version and agent version (each kept when the heartbeat names none).
 */
const heartbeatSet = () => ({
  // drizzle's types take no placeholder in `set`; it encodes one with its column all the same.
  metrics: sql.placeholder("metrics") as never,
  lastSeenAt: sql.placeholder("seenAt") as never,
  updatedAt: sql.placeholder("seenAt") as never,
  appliedConfigVersion: sql`coalesce(${sql.placeholder("appliedConfigVersion")}::integer, ${nodes.appliedConfigVersion})`,
  agentVersion: sql`coalesce(${sql.placeholder("agentVersion")}::text, ${nodes.agentVersion})`,
});

type HeartbeatValues = {
  id: string;
  metrics: NodeMetrics;
  seenAt: Date;
  status: NodeStatus;
  appliedConfigVersion: number | null;
  agentVersion: string | null;
};

// Agents report every few seconds: the common heartbeat (no new endpoint) is one statement.
const heartbeatRow = placeholderQuery<HeartbeatValues, NodeRow>((exec) =>
  exec
    .update(nodes)
    .set({ ...heartbeatSet(), status: sql.placeholder("status") as never })
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
  HeartbeatValues & {
    /** ISO text: a placeholder outside a column's own comparison gets no Date mapping from drizzle. */
    lastHandshakeAt: string | null;
    /** JSON text of the candidates the row must hold, or null when the heartbeat reports none. */
    candidates: string | null;
    ip4: string;
    ip6: string | null;
    /** The node token's hash the row must hold, or null when the caller is already authenticated. */
    tokenHash: string | null;
  },
  NodeRow & { hubPublicKey: string }
>((exec) =>
  exec
    .update(nodes)
    .set(heartbeatSet())
    .from(networks)
    .where(
      and(
        eq(networks.id, nodes.networkId),
        eq(nodes.id, sql.placeholder("id")),
        eq(nodes.status, sql.placeholder("status")),
        sql`${nodes.lastHandshakeAt} is not distinct from ${sql.placeholder("lastHandshakeAt")}::timestamptz`,
        // The candidates were normalised against these addresses (a node's own are left out).
        sql`${nodes.ip4} = ${sql.placeholder("ip4")}::inet`,
        sql`${nodes.ip6} is not distinct from ${sql.placeholder("ip6")}::inet`,
        sql`(${sql.placeholder("candidates")}::jsonb is null or ${nodes.endpointCandidates} = ${sql.placeholder("candidates")}::jsonb)`,
        sql`(${sql.placeholder("tokenHash")}::text is null or ${nodes.tokenHash} = ${sql.placeholder("tokenHash")}::text)`,
      ),
    )
    .returning({ ...getTableColumns(nodes), hubPublicKey: networks.hubPublicKey }),
);

/**
 * `recordHeartbeat` for a heartbeat that keeps the node's status and endpoint candidates, in one
 * statement outside any transaction: stores it only while the row still has the `status`,
 * `lastHandshakeAt` and addresses the caller decided from and, when `candidates` is given, holds
 * exactly those candidates (the row's lock, taken by the update, makes the check and the write one
 * step). With `tokenHash`, also only while the node's token is that one: the heartbeat's own
 * authentication, in the same statement. Returns the row with its network's hub key (its agent's
 * handshakes with the hub are no peer reports), or undefined, changing nothing, when the node is
 * gone, the token is not its own, or any of them has changed.
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
  expected: {
    status: NodeStatus;
    lastHandshakeAt: Date | null;
    ip4: string;
    ip6: string | null;
    candidates?: NodeEndpointCandidates | undefined;
    tokenHash?: string | undefined;
  },
): Promise<(NodeRow & { hubPublicKey: string }) | undefined> {
  const [row] = await steadyHeartbeatRow(exec, {
    id,
    ...heartbeat,
    status: expected.status,
    lastHandshakeAt: expected.lastHandshakeAt?.toISOString() ?? null,
    ip4: expected.ip4,
    ip6: expected.ip6,
    candidates: expected.candidates ? JSON.stringify(expected.candidates) : null,
    tokenHash: expected.tokenHash ?? null,
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

/** Sets each listed node's sealed preshared key with its hub, managed by wiresync from now on. */
export async function setPresharedKeys(
  exec: Executor,
  keys: readonly { id: string; presharedKeyEnc: string }[],
): Promise<void> {
  for (let i = 0; i < keys.length; i += 1_000) {
    const values = sql.join(
      keys.slice(i, i + 1_000).map((k) => sql`(${k.id}::uuid, ${k.presharedKeyEnc}::text)`),
      sql`, `,
    );
    await exec
      .update(nodes)
      .set({ presharedKeyEnc: sql`v.enc`, presharedKeyManaged: true, updatedAt: new Date() })
      .from(sql`(values ${values}) as v(id, enc)`)
      .where(sql`${nodes.id} = v.id`);
  }
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
  /** Only where the preshared key is managed (it is sealed to the id, `node:<id>:psk`), else "". */
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

/** Nodes per row of `hubPeerTextRows`. */
const HUB_PEER_LINES_PER_ROW = 500;

/**
 * The peer columns of every node of a network, by address, as text made by Postgres: a line per node
 * (`parseHubPeerLine` in hub-peers.ts reads it), in rows of up to `HUB_PEER_LINES_PER_ROW` lines.
 * At 10,000 nodes, decoding and mapping a row per node was most of every peer sync's read, and equal
 * text tells the reader nothing changed, row by row (`HubPeerMemo`). Rows, not one: postgres.js joins the chunks
 * of a message as they arrive, which for one 1 MB row cost more CPU than the parse of the answer from
 * the interface. Addresses come without their prefixes (`host()`); text columns are JSON-escaped, so
 * no value holds a separator; the id only where the node's preshared key is managed (it is sealed to it).
 */
const hubPeerTextRows = placeholderQuery<{ networkId: string }, { t: string }>((exec) => {
  const lines = exec
    .select({
      ip4: nodes.ip4,
      line: sql`concat_ws(chr(31),
            case when ${nodes.presharedKeyManaged} then ${nodes.id}::text else '' end,
            to_json(${nodes.publicKey}), host(${nodes.ip4}), coalesce(host(${nodes.ip6}), ''),
            coalesce(to_json(${nodes.endpoint})::text, ''), array_to_json(${nodes.extraAllowedIps}),
            ${nodes.status}, coalesce(to_json(${nodes.presharedKeyEnc})::text, ''),
            ${nodes.presharedKeyManaged})`.as("line"),
      part: sql`(row_number() over (order by ${nodes.ip4}) - 1) / ${sql.raw(String(HUB_PEER_LINES_PER_ROW))}`.as(
        "part",
      ),
    })
    .from(nodes)
    .where(eq(nodes.networkId, sql.placeholder("networkId")))
    .as("lines");
  return exec
    .select({ t: sql`string_agg(${lines.line}, chr(10) order by ${lines.ip4})`.as("t") })
    .from(lines)
    .groupBy(lines.part)
    .orderBy(lines.part);
});

/**
 * Every node's peer columns in a network, as `hubPeerTextRows` spells them: its rows of lines, in
 * address order (none for no nodes). Not joined: a reader that kept the last read's rows compares
 * them row by row (`HubPeerMemo`).
 */
export async function hubPeerRows(exec: Executor, networkId: string): Promise<string[]> {
  return (await hubPeerTextRows(exec, { networkId })).map((r) => r.t);
}

const joinedPeerColumns = {
  id: sql`${nodes.id}`.as("id"),
  publicKey: sql`${nodes.publicKey}`.as("publicKey"),
  ip4: sql`host(${nodes.ip4})`.as("ip4"),
  ip6: sql`host(${nodes.ip6})`.as("ip6"),
  endpoint: sql`${nodes.endpoint}`.as("endpoint"),
  extraAllowedIps: sql`${nodes.extraAllowedIps}`.as("extraAllowedIps"),
  status: sql`${nodes.status}`.as("status"),
  presharedKeyEnc: sql`${nodes.presharedKeyEnc}`.as("presharedKeyEnc"),
  presharedKeyManaged: sql`${nodes.presharedKeyManaged}`.as("presharedKeyManaged"),
  networkName: sql`${networks.name}`.as("networkName"),
};
type JoinedPeerRow = HubPeerRow & { networkName: string };

const pendingPeerRows = placeholderQuery<{ networkId: string; limit: number }, JoinedPeerRow>((exec) =>
  exec
    .select(joinedPeerColumns)
    .from(pendingJoins)
    // The node as it is now: a row naming a node that is not in the network adds nothing to its hub.
    .innerJoin(nodes, and(eq(nodes.id, pendingJoins.nodeId), eq(nodes.networkId, pendingJoins.networkId)))
    .innerJoin(networks, eq(networks.id, pendingJoins.networkId))
    .where(eq(pendingJoins.networkId, sql.placeholder("networkId")))
    .orderBy(pendingJoins.joinedAt)
    .limit(sql.placeholder("limit")),
);

/**
 * The peer columns of up to `limit` nodes pending in `networkId` (`pending_joins`, oldest first),
 * each with its node id and its network's name, in one statement: a targeted apply's read.
 */
export function pendingJoinedPeers(
  exec: Executor,
  networkId: string,
  limit: number,
): Promise<JoinedPeerRow[]> {
  return pendingPeerRows(exec, { networkId, limit });
}

const pendingJoinIdRows = placeholderQuery<{ networkId: string }, { id: string }>((exec) =>
  exec
    .select({ id: pendingJoins.nodeId })
    .from(pendingJoins)
    .where(eq(pendingJoins.networkId, sql.placeholder("networkId"))),
);

/** The ids of every node pending in `networkId` (at most its node count: rows go with their nodes). */
export async function pendingJoinIds(exec: Executor, networkId: string): Promise<string[]> {
  return (await pendingJoinIdRows(exec, { networkId })).map((r) => r.id);
}

// The ids travel as one text (`a,b,c`): one parameter, spelt alike for both drivers.
const deletePendingJoinRows = placeholderQuery<{ networkId: string; ids: string }, { id: string }>((exec) =>
  exec
    .delete(pendingJoins)
    .where(
      and(
        eq(pendingJoins.networkId, sql.placeholder("networkId")),
        sql`${pendingJoins.nodeId} = any(string_to_array(${sql.placeholder("ids")}, ',')::uuid[])`,
      ),
    )
    .returning({ id: pendingJoins.nodeId }),
);

/**
 * Deletes the pending joins of `nodeIds` in `networkId`, and only those: rows committed since they
 * were read are left for the next apply. Resolves with how many rows it deleted.
 */
export async function deletePendingJoins(
  exec: Executor,
  networkId: string,
  nodeIds: readonly string[],
): Promise<number> {
  if (nodeIds.length === 0) return 0;
  return (await deletePendingJoinRows(exec, { networkId, ids: nodeIds.join(",") })).length;
}

/** Deletes every pending join of `networkId` (no interface of it is managed where they would be applied). */
export async function deleteAllPendingJoins(exec: Executor, networkId: string): Promise<void> {
  await exec.delete(pendingJoins).where(eq(pendingJoins.networkId, networkId));
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
