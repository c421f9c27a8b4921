import { boolean, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** Key/value settings. `value` is JSON text, or AES-256-GCM ciphertext when `encrypted`. */
export const settings = pgTable("settings", {
  key: text().primaryKey(),
  value: text().notNull(),
  encrypted: boolean().notNull().default(false),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedBy: text(),
});
