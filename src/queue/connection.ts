/**
 * Redis connections. One factory so that every connection gets the options BullMQ needs; the key prefix
 * is applied by BullMQ (`prefix`), never by ioredis `keyPrefix`, which BullMQ does not support.
 */

import type { RedisOptions } from "ioredis";
import { Redis } from "ioredis";

export type { Redis };

export type RedisRole =
  /** Producers (the API): give up on a command after one reconnect or 5 s, so a request never hangs on a trigger. */
  | "producer"
  /** Workers and queue events: block and retry forever, as BullMQ requires. */
  | "worker";

/** Creates an ioredis connection for a role. Never throws: connection errors surface on first use. */
export function createRedis(url: string, role: RedisRole, extra: RedisOptions = {}): Redis {
  const options: RedisOptions = {
    lazyConnect: false,
    connectTimeout: 5_000,
    // Reconnect with a capped backoff forever: Redis outages must heal without a restart.
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    ...(role === "worker"
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : { maxRetriesPerRequest: 1, commandTimeout: 5_000 }),
    ...extra,
  };
  const redis = new Redis(url, options);
  // Errors are reported by the health check and by the commands that fail; without a listener
  // ioredis would print every reconnect attempt as an unhandled error event.
  redis.on("error", () => {});
  return redis;
}

/** Resolves when the connection answers PING within `timeoutMs`; rejects otherwise. */
export async function pingRedis(redis: Redis, timeoutMs = 2_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
