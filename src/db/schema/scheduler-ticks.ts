import { pgTable, text, timestamp } from "drizzle-orm/pg-core";

/**
 * The last claimed slot of each scheduler tick: a process does a tick's work only after moving
 * `slot` forward, so each slot's work is done by one process however many run the scheduler.
 */
export const schedulerTicks = pgTable("scheduler_ticks", {
  name: text().primaryKey(),
  /** Start of the last claimed period (the cron fire time, or the interval slot's start). */
  slot: timestamp({ withTimezone: true }).notNull(),
  /** The process that claimed it (`host:pid`). */
  claimedBy: text().notNull(),
  claimedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
