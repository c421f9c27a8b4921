/**
 * Event data must never carry a secret: every key that names one is dropped, at any depth, before the
 * row is written. This is a guard against mistakes, not a licence to pass secrets in.
 */

/** Keys that name a secret: private keys, preshared keys, tokens, passwords, API keys, signing secrets. */
const SECRET_KEY =
  /(private.?key|preshared|secret|token|password|passwd|api.?key|authorization|credential|cookie)/i;
/** Encrypted columns (`privateKeyEnc`, `secret_enc`) are secrets too, whatever they are called. */
const ENCRYPTED_KEY = /(Enc|_enc)$/;

const MAX_DEPTH = 8;
const MAX_STRING = 10_000;
const MAX_ARRAY = 200;

export interface SanitizedData {
  data: Record<string, unknown>;
  /** Dotted paths of the keys that were dropped, for the caller's tests and logs (names only). */
  dropped: string[];
}

/** True when an object key names a secret (so its value is never stored or sent). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) || ENCRYPTED_KEY.test(key);
}

/**
 * A JSON-safe copy of `data` without secret-named keys. Dates become ISO strings, functions,
 * symbols and undefined values are dropped, strings longer than 10,000 characters are cut, arrays
 * keep their first 200 items and nesting stops at depth 8. Pure.
 */
export function sanitizeEventData(data: Record<string, unknown>): SanitizedData {
  const dropped: string[] = [];
  const walk = (value: unknown, path: string, depth: number): unknown => {
    if (value === null || typeof value === "boolean") return value;
    if (typeof value === "number") return Number.isFinite(value) ? value : null;
    if (typeof value === "string")
      return value.length > MAX_STRING ? `${value.slice(0, MAX_STRING)}…` : value;
    if (typeof value === "bigint") return value.toString();
    if (value instanceof Date) return value.toISOString();
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
      dropped.push(path);
      return undefined;
    }
    if (depth >= MAX_DEPTH) return "[too deep]";
    if (Array.isArray(value)) {
      return value.slice(0, MAX_ARRAY).map((v, i) => walk(v, `${path}[${i}]`, depth + 1) ?? null);
    }
    if (typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        const p = path ? `${path}.${k}` : k;
        if (isSecretKey(k)) {
          dropped.push(p);
          continue;
        }
        const w = walk(v, p, depth + 1);
        if (w !== undefined) out[k] = w;
      }
      return out;
    }
    return undefined;
  };
  return { data: (walk(data, "", 0) ?? {}) as Record<string, unknown>, dropped };
}
