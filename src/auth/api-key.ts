import { randomBytes } from "node:crypto";
import { sha256Hex } from "../crypto/index.js";

/** Visible family marker of wiresync keys, so secret scanners and people recognise them. */
const KEY_PREFIX = "wsk";
const LOOKUP_CHARS = 12;

export interface GeneratedApiKey {
  /** The whole key; shown to its creator once and never stored. */
  key: string;
  /** Stored and shown in lists: identifies the key without revealing it. */
  prefix: string;
  /** SHA-256 of the whole key, hex. */
  hash: string;
}

/** Creates a new key `wsk_<lookup>_<secret>` (12 + 43 characters of randomness). */
export function generateApiKey(): GeneratedApiKey {
  const lookup = randomBytes(9).toString("base64url").slice(0, LOOKUP_CHARS);
  const secret = randomBytes(32).toString("base64url");
  const key = `${KEY_PREFIX}_${lookup}_${secret}`;
  return { key, prefix: `${KEY_PREFIX}_${lookup}`, hash: sha256Hex(key) };
}

/** The stored lookup prefix of a presented key, or undefined when it is not of our format. */
export function apiKeyPrefix(key: string): string | undefined {
  const match = /^(wsk_[A-Za-z0-9_-]{12})_[A-Za-z0-9_-]{43}$/.exec(key);
  return match?.[1];
}
