/**
 * Tick claims: how many processes can run the scheduler while each tick's work is done once. A tick
 * claims its period (slot) in Postgres before it works, and the outbox relay holds a lock while it
 * runs. Owns the `scheduler_ticks` table; never does any tick's work itself.
 */
export * from "./default-crons.js";
export * from "./tick-claims.js";
