import { bigint, cidr, inet, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const TOPOLOGIES = ["hub", "mesh"] as const;
export type Topology = (typeof TOPOLOGIES)[number];

/**
 * A network's preshared keys: `off` (per node only, `POST /nodes/:id/psk`), `hub` (every node has one
 * with its hub), `all` (and, in a mesh, every pair of nodes has one, derived from the network's secret).
 */
export const PRESHARED_KEY_MODES = ["off", "hub", "all"] as const;
export type PresharedKeyMode = (typeof PRESHARED_KEY_MODES)[number];

/**
 * A mesh: its address ranges and its hub. Overlapping ranges are refused by exclusion constraints
 * (`networks_cidr4_excl`, `networks_cidr6_excl`), added in a custom migration because drizzle cannot
 * declare them.
 */
export const networks = pgTable("networks", {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull().unique("networks_name_key"),
  cidr4: cidr().notNull(),
  cidr6: cidr(),
  listenPort: integer().notNull().default(51820),
  /** Public `host:port` where nodes reach the hub. */
  endpoint: text(),
  topology: text({ enum: TOPOLOGIES }).notNull().default("hub"),
  dns: text().array().notNull().default([]),
  mtu: integer(),
  persistentKeepalive: integer(),
  /** Monthly byte quota of nodes that set none of their own; null: no limit. */
  defaultMonthlyQuotaBytes: bigint({ mode: "number" }),
  hubPublicKey: text().notNull(),
  /** AES-256-GCM envelope (see src/crypto); never leaves the server except to the hub's own worker. */
  hubPrivateKeyEnc: text().notNull(),
  /** Which tunnels of the network carry a preshared key (see `PRESHARED_KEY_MODES`). */
  presharedKeys: text({ enum: PRESHARED_KEY_MODES }).notNull().default("off"),
  /**
   * The secret node-to-node preshared keys of a mesh are derived from (32 bytes, base64; see
   * `pairPresharedKey` in src/mesh/render.ts), sealed with associated data `network:<id>:psk`; null
   * unless `presharedKeys` is `all`. Never leaves the server but inside a node's own config.
   */
  presharedKeySecretEnc: text(),
  /**
   * A hub key rotation under way (see src/mesh/rekey.service.ts): the hub's next key pair, told to
   * agents in their configs; it becomes the hub key once every agent node confirmed it (or at the
   * deadline). The private half is sealed like `hubPrivateKeyEnc` and, like it, never in an answer.
   */
  hubNextPublicKey: text(),
  hubNextPrivateKeyEnc: text(),
  hubKeyRotationStartedAt: timestamp({ withTimezone: true }),
  hubKeyRotationDeadline: timestamp({ withTimezone: true }),
  /** Per agent node waited for: the config version (naming the next key) it must report applied. */
  hubKeyRotationVersions: jsonb().$type<Record<string, number>>(),
  hubIp4: inet().notNull(),
  hubIp6: inet(),
  /** `HUB_ID` of the hub host that stands by for this network (takes over when the lease expires). */
  standbyHubId: text(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
