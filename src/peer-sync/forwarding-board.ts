/**
 * Where peer-sync workers post whether their hub interfaces forward, so that any process (the API's
 * `/health/ready` above all, which runs apart from the worker that owns the interface) can say that
 * nodes cannot reach each other. One Redis hash per deployment (`<prefix>:hub-forwarding`), a field
 * per interface holding its problem; a field is removed when the interface forwards again. Entries
 * older than `STALE_MS` are ignored: a worker that stopped reporting no longer speaks for its host.
 */
import type { Redis } from "../queue/index.js";
import type { ForwardingStatus } from "../wireguard/index.js";

const HOUR_MS = 60 * 60 * 1000;
const STALE_MS = 1 * HOUR_MS;

export interface ForwardingBoard {
  /** Records the interface's latest forwarding status (a problem, or none). */
  post(status: ForwardingStatus): Promise<void>;
  /** The problems posted within the last hour, one sentence each. */
  problems(now?: number): Promise<string[]>;
}

export function redisForwardingBoard(redis: Redis, prefix: string): ForwardingBoard {
  const key = `${prefix}:hub-forwarding`;
  return {
    async post(status) {
      if (status.problem === null) await redis.hdel(key, status.iface);
      else await redis.hset(key, status.iface, JSON.stringify({ problem: status.problem, at: Date.now() }));
    },
    async problems(now = Date.now()) {
      const entries = Object.values(await redis.hgetall(key));
      return entries.flatMap((raw) => {
        try {
          const { problem, at } = JSON.parse(raw) as { problem: string; at: number };
          return now - at <= STALE_MS ? [problem] : [];
        } catch {
          return [];
        }
      });
    },
  };
}
