import { pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { users } from "./users.js";

export const API_KEY_SCOPES = ["admin", "read"] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** API keys: only a lookup prefix and a SHA-256 of the whole key are stored, never the key. */
export const apiKeys = pgTable("api_keys", {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull(),
  prefix: text().notNull().unique(),
  keyHash: text().notNull(),
  scopes: text({ enum: API_KEY_SCOPES }).array().notNull(),
  createdBy: uuid().references(() => users.id, { onDelete: "set null" }),
  expiresAt: timestamp({ withTimezone: true }),
  revokedAt: timestamp({ withTimezone: true }),
  lastUsedAt: timestamp({ withTimezone: true }),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
