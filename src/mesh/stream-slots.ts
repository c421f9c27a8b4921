/**
 * How many config streams one node holds open, across every API process of an installation. An
 * agent needs one stream; a leaked or stolen node token that opened hundreds would hold as many
 * sockets and feed watchers. Each open stream holds a lease in a Redis sorted set (score: when it
 * expires); the stream renews it on every keepalive, so a process that dies without closing its
 * streams gives their slots back when the leases run out.
 */
import { randomUUID } from "node:crypto";
import { DomainError } from "../errors.js";
import type { Redis } from "../queue/index.js";

const SECOND_MS = 1_000;

/** An agent needs one stream; a few more cover reconnects racing the old stream's teardown. */
export const MAX_STREAMS_PER_NODE = 4;
/** How long a lease lasts without renewal; streams renew well within it (keepalive every 25 s). */
export const STREAM_LEASE_MS = 90 * SECOND_MS;
/** What a refused agent is told to wait: a reconnect racing its old stream's teardown clears by then. */
const RETRY_AFTER_SECONDS = 30;

/** A held stream slot. */
export interface StreamLease {
  /**
   * Extends the lease (or takes it again if it lapsed); call at least every `STREAM_LEASE_MS`.
   * Never throws: a renewal Redis loses only lets the lease lapse.
   */
  renew(): Promise<void>;
  /** Gives the slot back (idempotent, never throws). */
  release(): Promise<void>;
}

export interface StreamSlots {
  /**
   * Takes a slot for one of `nodeId`'s streams. Throws TOO_MANY_STREAMS when the node already
   * holds `max`, DEPENDENCY_UNAVAILABLE when the count cannot be read.
   */
  acquire(nodeId: string): Promise<StreamLease>;
}

const tooMany = (nodeId: string, max: number) =>
  new DomainError(
    "TOO_MANY_STREAMS",
    `node ${nodeId} already holds ${max} config streams, the most one node may hold at once; close one first`,
    { context: { nodeId, max, retryAfterSeconds: RETRY_AFTER_SECONDS } },
  );

/**
 * Drops lapsed leases, then adds ARGV[3] expiring ARGV[1] ms from now unless the set already holds
 * ARGV[2] leases. Redis's own clock, so API hosts' clocks need not agree. Returns 1 when added.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Moves lease ARGV[2]'s expiry to ARGV[1] ms from now (taking it again if it lapsed). */
const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Stream slots counted in Redis under `prefix`: shared by every API process using that prefix. */
export function redisStreamSlots(
  redis: Redis,
  prefix: string,
  max = MAX_STREAMS_PER_NODE,
  leaseMs = STREAM_LEASE_MS,
): StreamSlots {
  const key = (nodeId: string) => `${prefix}:config-streams:${nodeId}`;
  return {
    async acquire(nodeId) {
      const id = randomUUID();
      const added = await redis.eval(ACQUIRE, 1, key(nodeId), leaseMs, max, id).catch((err: unknown) => {
        throw new DomainError(
          "DEPENDENCY_UNAVAILABLE",
          "config streams cannot be counted right now (Redis); retry shortly",
          {
            cause: err,
            context: { retryAfterSeconds: 5 },
          },
        );
      });
      if (added !== 1) throw tooMany(nodeId, max);
      let released = false;
      return {
        async renew() {
          if (!released) await redis.eval(RENEW, 1, key(nodeId), leaseMs, id).catch(() => {});
        },
        async release() {
          if (released) return;
          released = true;
          // A lost release lapses with its lease.
          await redis.zrem(key(nodeId), id).catch(() => {});
        },
      };
    },
  };
}
