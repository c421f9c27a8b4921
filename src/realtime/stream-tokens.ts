/**
 * Stream tokens: short-lived, single-purpose credentials for a browser that cannot send a header or
 * cookie to the event stream (`?token=`). A token joins one room of the stream as the principal that
 * asked for it, and nothing else: no API route accepts it. Stored in Redis under its SHA-256 with a
 * TTL, so it expires by itself; a Redis flush only ends tokens early (clients ask for a new one).
 */
import { randomBytes } from "node:crypto";
import type { Principal } from "../auth/index.js";
import { sha256Hex } from "../crypto/index.js";
import type { Redis } from "../queue/index.js";

export const STREAM_TOKEN_PREFIX = "wst_";

export interface StreamGrant {
  principal: Principal;
  room: string;
}

export interface StreamTokens {
  /** A new token for `grant`, valid for the configured lifetime. */
  issue(grant: StreamGrant): Promise<{ token: string; expiresAt: Date }>;
  /** The grant of a live token; undefined for an unknown, expired or malformed one. */
  redeem(token: string): Promise<StreamGrant | undefined>;
}

const keyOf = (prefix: string, token: string) => `${prefix}:stream-token:${sha256Hex(token)}`;

export function redisStreamTokens(redis: Redis, prefix: string, ttlSeconds: number): StreamTokens {
  return {
    async issue(grant) {
      const token = `${STREAM_TOKEN_PREFIX}${randomBytes(32).toString("base64url")}`;
      const expiresAt = new Date(Date.now() + ttlSeconds * 1000);
      await redis.set(keyOf(prefix, token), JSON.stringify(grant), "EX", ttlSeconds);
      return { token, expiresAt };
    },
    async redeem(token) {
      if (!token.startsWith(STREAM_TOKEN_PREFIX) || token.length > 100) return undefined;
      const stored = await redis.get(keyOf(prefix, token));
      return stored ? (JSON.parse(stored) as StreamGrant) : undefined;
    },
  };
}
