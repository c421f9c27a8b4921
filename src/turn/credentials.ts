/**
 * coturn's REST-API credentials (its `use-auth-secret` mode, draft-uberti-behave-turn-rest): the
 * username is `<unix expiry>:<user id>` and the password is base64(HMAC-SHA1(secret, username)).
 * coturn recomputes the password from the username with the same shared secret and refuses a
 * username whose expiry has passed, so the API hands out credentials without talking to coturn.
 */
import { createHmac } from "node:crypto";

/** What a browser's or node's ICE agent takes (RTCIceServer), with the credential's lifetime. */
export interface IceServer {
  urls: string[];
  username?: string;
  credential?: string;
  /** Seconds the credential stays valid from when it was made. */
  ttl?: number;
}

/** The TURN password coturn expects for `username` under `secret`. */
export function turnPassword(secret: string, username: string): string {
  return createHmac("sha1", secret).update(username).digest("base64");
}

/** A username valid until `expiresAt` (unix seconds) for `userId`. */
export const turnUsername = (expiresAt: number, userId: string) => `${expiresAt}:${userId}`;

/**
 * The ICE servers of `urls` for `userId` at `nowMs`: the STUN urls as one entry without credentials
 * (STUN asks for none), and the TURN urls as one entry with a credential expiring `ttlSeconds` later.
 */
export function iceServersFor(options: {
  urls: readonly string[];
  secret: string | undefined;
  ttlSeconds: number;
  userId: string;
  nowMs: number;
}): { iceServers: IceServer[]; expiresAt: number | null } {
  const stun = options.urls.filter((u) => /^stuns?:/.test(u));
  const turn = options.urls.filter((u) => /^turns?:/.test(u));
  const iceServers: IceServer[] = [];
  if (stun.length > 0) iceServers.push({ urls: stun });
  if (turn.length === 0 || options.secret === undefined) return { iceServers, expiresAt: null };
  const expiresAt = Math.floor(options.nowMs / 1_000) + options.ttlSeconds;
  const username = turnUsername(expiresAt, options.userId);
  iceServers.push({
    urls: turn,
    username,
    credential: turnPassword(options.secret, username),
    ttl: options.ttlSeconds,
  });
  return { iceServers, expiresAt };
}
