import { DomainError } from "../errors.js";
import { normaliseCidrSet, parseEndpoint } from "./address.js";
import { assertWgKey, isWgKey } from "./keys.js";
import type { DesiredPeer, PeerUpdate, WgPlan } from "./types.js";

/**
 * Validation and normalisation at the boundary of the data plane: every key, address and number is
 * checked and rewritten to canonical form before it can reach the userspace API or the `wg` tool, so
 * no value can carry a newline, `=` or an extra argument into a write. Pure.
 */

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
 * A desired peer with a checked key, canonical sorted allowed IPs, canonical endpoint and checked
 * keepalive and preshared key. Fields left `undefined` stay `undefined` (no opinion). Throws
 * VALIDATION_FAILED naming the field (never a key's value). Idempotent.
 */
export function normaliseDesiredPeer(peer: DesiredPeer, index = 0): DesiredPeer {
  const where = `peer #${index + 1}`;
  const out: DesiredPeer = {
    publicKey: isWgKey(peer.publicKey) ? peer.publicKey : assertWgKey(peer.publicKey, `${where} public key`),
    allowedIps: normaliseAllowedIps(peer.allowedIps, where),
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
  return out;
}

/**
 * `normaliseDesiredPeer`, frozen (allowed IPs too): such a peer cannot change, so a desired set can
 * share it with the next one.
 */
export function normalFrozenPeer(peer: DesiredPeer, index = 0): DesiredPeer {
  const out = normaliseDesiredPeer(peer, index);
  Object.freeze(out.allowedIps);
  return Object.freeze(out);
}

function normaliseAllowedIps(values: unknown, where: string): string[] {
  let ok = Array.isArray(values);
  if (ok) for (const v of values as unknown[]) if (typeof v !== "string") ok = false;
  if (!ok) throw invalid(`${where} allowed IPs must be a list of CIDR strings`, { field: where });
  return normaliseCidrSet(values as string[]);
}

function normaliseUpdate(update: PeerUpdate, index: number): PeerUpdate {
  const where = `update #${index + 1}`;
  const out: PeerUpdate = {
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
 * Checks a whole plan before anything is written and returns it normalised. Throws VALIDATION_FAILED
 * for a bad key, address, endpoint or number, or when a public key appears twice.
 */
export function validatePlan(plan: WgPlan): WgPlan {
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
    const out = normaliseDesiredPeer(p, i);
    claim(out.publicKey);
    return out;
  });
  return { add, remove, update, unexpected: [...plan.unexpected], reason: plan.reason };
}
