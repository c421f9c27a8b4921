import { DomainError } from "../errors.js";
import { normaliseCidrSet, parseEndpoint } from "./address.js";
import { assertWgKey, isWgKey } from "./keys.js";
import type { CheckedPeer, CheckedPlan, DesiredPeer, PeerUpdate, WgPlan } from "./types.js";

/**
 * Validation and normalisation at the boundary of the data plane, where peers come in (the
 * database's, through the peer sync's `desiredSet`; a node's config, through the agent): every key,
 * address and number is checked once and rewritten to canonical form, so no value can carry a
 * newline, `=` or an extra argument into a write. What it checked carries the `CheckedPeer` and
 * `CheckedPlan` types, the only ones the drivers take. Pure.
 */

/** `T` with its fields writable: for building a value before it is handed out read-only. */
export type Writable<T> = { -readonly [K in keyof T]: T[K] };

function invalid(message: string, context: Record<string, unknown>): DomainError {
  return new DomainError("VALIDATION_FAILED", message, { context });
}

/** Checks a keepalive interval (seconds, 0 = off) and returns it; null becomes 0. */
export function normaliseKeepalive(value: number | null, what: string): number {
  const n = value ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw invalid(`${what} persistent keepalive must be an integer of 0–65535 seconds`, { field: what });
  }
  return n;
}

/** Checks an interface listen port (0 = pick one). */
export function assertListenPort(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw invalid("listen port must be an integer of 0–65535", { listenPort: value });
  }
  return value;
}

/** Checks a firewall mark (0 or null = off). */
export function normaliseFwmark(value: number | null): number {
  const n = value ?? 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw invalid("fwmark must be an integer of 0–4294967295", { fwmark: value });
  }
  return n;
}

/**
 * The checked peer for `peer`: a checked key, canonical sorted allowed IPs, canonical endpoint and
 * checked keepalive and preshared key; fields left `undefined` stay `undefined` (no opinion), a null
 * endpoint is left out. Frozen (allowed IPs too), so it cannot change once checked and a desired set
 * can share it with the next one. Throws VALIDATION_FAILED naming the field and the peer's position
 * `index` (never a key's value). Idempotent.
 */
export function checkPeer(peer: DesiredPeer, index = 0): CheckedPeer {
  const where = `peer #${index + 1}`;
  const out: Writable<DesiredPeer> = {
    publicKey: isWgKey(peer.publicKey) ? peer.publicKey : assertWgKey(peer.publicKey, `${where} public key`),
    allowedIps: Object.freeze(normaliseAllowedIps(peer.allowedIps, where)),
  };
  if (peer.presharedKey !== undefined) {
    out.presharedKey =
      peer.presharedKey === null ? null : assertWgKey(peer.presharedKey, `${where} preshared key`);
  }
  if (peer.endpoint !== undefined && peer.endpoint !== null) {
    if (typeof peer.endpoint !== "string")
      throw invalid(`${where} endpoint must be a string`, { peer: index });
    out.endpoint = parseEndpoint(peer.endpoint).text;
  }
  if (peer.persistentKeepalive !== undefined) {
    out.persistentKeepalive = normaliseKeepalive(peer.persistentKeepalive, where);
  }
  return Object.freeze(out) as CheckedPeer;
}

/**
 * IMPORTANT: the one place a plan becomes a `CheckedPlan` without a check, and not exported from the
 * module's index. Only for a plan made of checked peers, updates whose values come from checked
 * peers, and keys already checked (the planner, `mergePlans`, `emptyPlan`).
 */
export function sealPlan(plan: WgPlan & { readonly add: readonly CheckedPeer[] }): CheckedPlan {
  return plan as CheckedPlan;
}

/**
 * IMPORTANT: a peer made only of checked values (`mergePlans` folding an update into an add) as a
 * `CheckedPeer`, frozen, without a check. Not exported from the module's index.
 */
export function sealPeer(peer: DesiredPeer): CheckedPeer {
  return Object.freeze(peer) as CheckedPeer;
}

function normaliseAllowedIps(values: unknown, where: string): string[] {
  let ok = Array.isArray(values);
  if (ok) for (const v of values as unknown[]) if (typeof v !== "string") ok = false;
  if (!ok) throw invalid(`${where} allowed IPs must be a list of CIDR strings`, { field: where });
  return normaliseCidrSet(values as string[]);
}

function normaliseUpdate(update: PeerUpdate, index: number): PeerUpdate {
  const where = `update #${index + 1}`;
  const out: Writable<PeerUpdate> = {
    publicKey: assertWgKey(update.publicKey, `${where} public key`),
    replaceAllowedIps: update.replaceAllowedIps === true,
  };
  if (update.allowedIps !== undefined) out.allowedIps = normaliseAllowedIps(update.allowedIps, where);
  if (out.replaceAllowedIps && out.allowedIps === undefined) out.allowedIps = [];
  if (update.endpoint !== undefined) out.endpoint = parseEndpoint(update.endpoint).text;
  if (update.persistentKeepalive !== undefined) {
    out.persistentKeepalive = normaliseKeepalive(update.persistentKeepalive, where);
  }
  if (update.presharedKey !== undefined) {
    out.presharedKey =
      update.presharedKey === null ? null : assertWgKey(update.presharedKey, `${where} preshared key`);
  }
  return out;
}

/**
 * The checked plan for a plan written by hand: every key, address, endpoint and number checked and
 * normalised, in a new plan. Throws VALIDATION_FAILED for a bad one, or when a public key appears
 * twice. Plans the planner makes are checked already: they need no call.
 */
export function checkPlan(plan: WgPlan): CheckedPlan {
  if (!Array.isArray(plan.add) || !Array.isArray(plan.remove) || !Array.isArray(plan.update)) {
    throw invalid("a plan needs add, remove and update lists", {});
  }
  const seen = new Set<string>();
  const claim = (key: string) => {
    if (seen.has(key)) {
      throw invalid("a public key appears more than once in the plan; merge plans with mergePlans", {
        publicKey: key,
      });
    }
    seen.add(key);
  };
  const remove = plan.remove.map((k, i) => {
    const key = assertWgKey(k, `remove #${i + 1} public key`);
    claim(key);
    return key;
  });
  const update = plan.update.map((u, i) => {
    const out = normaliseUpdate(u, i);
    claim(out.publicKey);
    return out;
  });
  const add = plan.add.map((p, i) => {
    const out = checkPeer(p, i);
    claim(out.publicKey);
    return out;
  });
  return sealPlan({ add, remove, update, unexpected: [...plan.unexpected], reason: plan.reason });
}
