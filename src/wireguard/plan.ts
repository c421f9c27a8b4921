import { DomainError } from "../errors.js";
import { normaliseCidr, normaliseCidrSet, parseEndpoint } from "./address.js";
import { isWgKey } from "./keys.js";
import type {
  CheckedPeer,
  CheckedPlan,
  DesiredPeer,
  DriftReport,
  PeerField,
  PeerUpdate,
  WgPeer,
  WgPlan,
  WgState,
} from "./types.js";
import { checkPeer, sealPeer, sealPlan, type Writable } from "./validate.js";

/**
 * The pure core of peer sync: what must change on an interface so it matches the database. Imports
 * nothing that does I/O.
 */

export interface PlanOptions {
  /** Remove every peer the database does not know (an explicit "fix drift"). */
  removeUnknown: boolean;
  /** Public keys of deleted nodes: removed even when `removeUnknown` is false. */
  retired: ReadonlySet<string>;
}

/** A plan that changes nothing. */
export function emptyPlan(reason = "noChange"): CheckedPlan {
  return sealPlan({ add: [], remove: [], update: [], unexpected: [], reason });
}

/** True when applying `plan` would write nothing (`unexpected` is only a report). */
export function isEmptyPlan(plan: Pick<WgPlan, "add" | "remove" | "update">): boolean {
  return plan.add.length === 0 && plan.remove.length === 0 && plan.update.length === 0;
}

/** A plan's lists as the planner fills them, before it seals them into a `CheckedPlan`. */
interface WgPlanLists {
  add: CheckedPeer[];
  remove: string[];
  update: PeerUpdate[];
  unexpected: string[];
}

interface PeerDiff {
  fields: PeerField[];
  update: PeerUpdate;
}

/** Allowed IPs compared as sets; `want` is normalised and sorted. Allocation-free for one address. */
function sameAllowedIps(want: readonly string[], have: readonly string[]): boolean {
  if (want.length === 1 && have.length === 1)
    return have[0] === want[0] || normaliseCidr(have[0]!) === want[0];
  if (want.length === 0 && have.length === 0) return true;
  return sameList(want, normaliseCidrSet(have));
}

/**
 * Compares one normalised desired peer with the interface's peer; null when they agree (the common
 * case, kept allocation-free). Endpoints are compared only when desired names an IP literal:
 * WireGuard roams endpoints, and a hostname is resolved before it is set, so the interface never
 * shows it.
 */
function diffPeer(want: CheckedPeer, have: WgPeer): PeerDiff | null {
  const ipsDiffer = !sameAllowedIps(want.allowedIps, have.allowedIps);
  const endpointDiffers =
    want.endpoint != null && want.endpoint !== have.endpoint && parseEndpoint(want.endpoint).isIp;
  const keepaliveDiffers =
    want.persistentKeepalive !== undefined &&
    (want.persistentKeepalive ?? 0) !== (have.persistentKeepalive ?? 0);
  const pskDiffers = want.presharedKey !== undefined && want.presharedKey !== have.presharedKey;
  if (!ipsDiffer && !endpointDiffers && !keepaliveDiffers && !pskDiffers) return null;

  const fields: PeerField[] = [];
  const update: Writable<PeerUpdate> = {
    publicKey: want.publicKey,
    replaceAllowedIps: false,
  };
  if (ipsDiffer) {
    fields.push("allowedIps");
    update.allowedIps = want.allowedIps;
    update.replaceAllowedIps = true;
  }
  if (endpointDiffers) {
    fields.push("endpoint");
    update.endpoint = want.endpoint!;
  }
  if (keepaliveDiffers) {
    fields.push("persistentKeepalive");
    update.persistentKeepalive = want.persistentKeepalive ?? 0;
  }
  if (pskDiffers) {
    fields.push("presharedKey");
    update.presharedKey = want.presharedKey!;
  }
  return { fields, update };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Desired peers checked, normalised and indexed by public key once: the half of planning that needs
 * no interface, so a caller can prepare it while the interface is being read. Frozen.
 */
export interface DesiredSet {
  /** Checked (hence frozen). A set made from a previous one shares the peers that did not change. */
  readonly peers: readonly CheckedPeer[];
  /** Public key → position in `peers`. */
  readonly index: ReadonlyMap<string, number>;
  /** The desired peers `peers` were checked from, position for position (the next set's base). */
  readonly sources: readonly DesiredPeer[];
}

/**
 * What `diffInterface` learnt in earlier calls for one interface, owned by the caller and handed to
 * each call: interface peers found equal to a desired peer. Both are frozen, so they stay equal: a
 * reader that reuses a peer object only while its lines are unchanged (`UapiDriver`'s) makes such a
 * peer agree again without a second look. Kept: without it (and the reuse of `desiredSet`'s previous
 * set) a 10,000-peer reconcile's plan took 10–32 ms instead of 0.4–1.3 ms, and its CPU time doubled.
 */
export class PlanMemo {
  readonly agreed = new WeakMap<WgPeer, Agreement>();
}

/** An interface peer's agreement with a desired peer, and where that peer sits in the set last using it. */
export interface Agreement {
  readonly peer: CheckedPeer;
  set: DesiredSet;
  position: number;
}

/**
 * Checks (`checkPeer`) and indexes desired peers (a `DesiredSet` is returned as is): where peers
 * enter the data plane, so each is checked here once. With `previous`, the set made from the last
 * call: when every desired peer is the previous set's source or equal to its (already checked)
 * peer, that set is returned; otherwise the new set takes over the previous set's leading peers
 * whose sources it is handed again (the very frozen objects, in the same positions: a memo's reads,
 * `HubPeerMemo`'s) without looking at them, and the other peers that did not change after one
 * comparison each, so one enrolled node costs one peer's checks, not all.
 * Pure; throws VALIDATION_FAILED for a malformed peer or a public key desired twice.
 */
export function desiredSet(desired: readonly DesiredPeer[] | DesiredSet, previous?: DesiredSet): DesiredSet {
  if (!Array.isArray(desired)) return desired as DesiredSet;
  const list = desired as readonly DesiredPeer[];
  const kept = previous ? sameSources(list, previous.sources) : 0;
  if (previous && sameDesiredPeers(list, previous.peers, kept)) return previous;
  const peers: CheckedPeer[] = new Array(list.length);
  let index: Map<string, number>;
  if (kept === 0) index = new Map();
  else {
    // The kept peers are the previous set's first `kept` ones, already checked and distinct.
    index = new Map(previous!.index);
    for (let i = kept; i < previous!.peers.length; i++) index.delete(previous!.peers[i]!.publicKey);
    for (let i = 0; i < kept; i++) peers[i] = previous!.peers[i]!;
  }
  for (let i = kept; i < list.length; i++) {
    const fresh = list[i]!;
    const j = previous?.index.get(fresh.publicKey);
    const known = j === undefined ? undefined : previous!.peers[j]!;
    const peer = known && samePeer(fresh, known) ? known : checkPeer(fresh, i);
    if (index.has(peer.publicKey)) {
      throw new DomainError("VALIDATION_FAILED", `peer #${i + 1} repeats a public key desired earlier`, {
        context: { publicKey: peer.publicKey },
      });
    }
    index.set(peer.publicKey, i);
    peers[i] = peer;
  }
  return Object.freeze({ peers, index, sources: list.slice() });
}

/**
 * How many leading peers of `fresh` are the very objects `sources` holds in the same positions,
 * frozen with their allowed IPs: those cannot have changed since they were checked.
 */
function sameSources(fresh: readonly DesiredPeer[], sources: readonly DesiredPeer[]): number {
  const n = Math.min(fresh.length, sources.length);
  let k = 0;
  while (k < n) {
    const peer = fresh[k]!;
    if (peer !== sources[k] || !Object.isFrozen(peer) || !Object.isFrozen(peer.allowedIps)) break;
    k++;
  }
  return k;
}

/**
 * True when `fresh` holds exactly the peers `normal` does, field by field and in the same order,
 * from position `from` on (the caller knows the ones before agree). `normal` is normalised and
 * normalising is idempotent, so equal fields normalise alike; a peer in another spelling only costs
 * a fresh check.
 */
function sameDesiredPeers(
  fresh: readonly DesiredPeer[],
  normal: readonly DesiredPeer[],
  from: number,
): boolean {
  if (fresh.length !== normal.length) return false;
  for (let i = from; i < fresh.length; i++) if (!samePeer(fresh[i]!, normal[i]!)) return false;
  return true;
}

/** True when the desired peer `a` has exactly the fields of the normalised peer `b`. */
function samePeer(a: DesiredPeer, b: DesiredPeer): boolean {
  return (
    a.publicKey === b.publicKey &&
    a.presharedKey === b.presharedKey &&
    (a.endpoint ?? undefined) === b.endpoint &&
    a.persistentKeepalive === b.persistentKeepalive &&
    Array.isArray(a.allowedIps) &&
    sameList(a.allowedIps, b.allowedIps)
  );
}

/**
 * A key of the interface's, to remove. Checked: the drivers' parsers check every key they read,
 * but a `WgState` is plain data that may come from elsewhere, and only checked keys go in a plan.
 */
function removableKey(key: string): string {
  if (!isWgKey(key)) {
    throw new DomainError("INTERFACE_FAULT", "the interface reported a peer key that is not a WireGuard key");
  }
  return key;
}

/** The order reasons are listed in, whatever order the peers came in. */
const REASONS = [
  "addPeers",
  "updateAllowedIps",
  "updateEndpoint",
  "updateKeepalive",
  "updatePresharedKey",
  "removeRetired",
  "removeUnknown",
  "unexpectedPeers",
  "skipOwnKey",
] as const;
type Reason = (typeof REASONS)[number];

const FIELD_REASON: Record<PeerField, Reason> = {
  allowedIps: "updateAllowedIps",
  endpoint: "updateEndpoint",
  persistentKeepalive: "updateKeepalive",
  presharedKey: "updatePresharedKey",
};

/**
 * Plans the changes that make `actual` hold exactly the `desired` peers, and reports the drift found
 * on the way, in one pass over each side. Desired peers absent from the interface are added; present
 * ones get an update of only the fields that differ (allowed IPs as sets; endpoint, keepalive and
 * preshared key only where desired has an opinion). Peers nobody desires are removed when retired or
 * when `removeUnknown`; otherwise they are listed in `unexpected` and left alone. A desired peer with
 * the interface's own public key is skipped (WireGuard ignores it). Adds and updates follow the
 * desired order. Pure: with a `memo`, interface peers found equal are noted in it, and peers it
 * knows agree are not compared again, which changes no result. Throws `DomainError`
 * VALIDATION_FAILED for a malformed or repeated desired peer.
 */
export function diffInterface(
  desired: readonly DesiredPeer[] | DesiredSet,
  actual: WgState,
  options: PlanOptions,
  memo?: PlanMemo,
): { plan: CheckedPlan; drift: DriftReport } {
  const wanted = desiredSet(desired);
  const agreed = memo?.agreed;
  const plan: WgPlanLists = { add: [], remove: [], update: [], unexpected: [] };
  const drift: DriftReport = { missing: [], unexpected: [], mismatched: [] };
  const counts = new Map<Reason, number>();
  const bump = (reason: Reason) => counts.set(reason, (counts.get(reason) ?? 0) + 1);
  // Per desired position: undefined = not on the interface, null = on it and equal, else the diff.
  const found: (PeerDiff | null | undefined)[] = new Array(wanted.peers.length);
  for (const have of actual.peers) {
    // The common case of a reconcile: an interface peer object that agreed before, and still does.
    const agreement = agreed?.get(have);
    if (agreement?.set === wanted) {
      found[agreement.position] = null;
      continue;
    }
    // Agreed under an earlier set: it holds if this set kept that very desired peer, most often
    // where it was (a set made from the previous one keeps its unchanged leading peers in place).
    if (agreement !== undefined && wanted.peers[agreement.position] === agreement.peer) {
      agreement.set = wanted;
      found[agreement.position] = null;
      continue;
    }
    const i = wanted.index.get(have.publicKey);
    if (i !== undefined) {
      const want = wanted.peers[i]!;
      if (agreement?.peer === want) {
        agreement.set = wanted;
        agreement.position = i;
        found[i] = null;
        continue;
      }
      const diff = diffPeer(want, have);
      // Only a frozen peer can be trusted to stay as it was compared (desired peers are frozen).
      if (agreed && diff === null && Object.isFrozen(have) && Object.isFrozen(have.allowedIps))
        agreed.set(have, { peer: want, set: wanted, position: i });
      found[i] = diff;
      continue;
    }
    drift.unexpected.push(have.publicKey);
    if (options.retired.has(have.publicKey)) {
      plan.remove.push(removableKey(have.publicKey));
      bump("removeRetired");
    } else if (options.removeUnknown) {
      plan.remove.push(removableKey(have.publicKey));
      bump("removeUnknown");
    } else {
      plan.unexpected.push(have.publicKey);
      bump("unexpectedPeers");
    }
  }
  for (let i = 0; i < wanted.peers.length; i++) {
    const want = wanted.peers[i]!;
    const diff = found[i];
    if (diff === null) continue;
    if (diff === undefined) {
      if (want.publicKey === actual.publicKey) {
        bump("skipOwnKey");
        continue;
      }
      plan.add.push(want);
      drift.missing.push(want.publicKey);
      bump("addPeers");
      continue;
    }
    plan.update.push(diff.update);
    drift.mismatched.push({ publicKey: want.publicKey, fields: diff.fields });
    for (const f of diff.fields) bump(FIELD_REASON[f]);
  }
  const reason =
    counts.size === 0
      ? "noChange"
      : REASONS.filter((r) => counts.has(r))
          .map((r) => `${r}(${counts.get(r)})`)
          .join(" ");
  // Checked by construction: added peers are the set's checked peers, updates carry their values,
  // and removed keys were checked as they were taken.
  return { plan: sealPlan({ ...plan, reason }), drift };
}

/** The plan of `diffInterface`. */
export function planInterface(
  desired: readonly DesiredPeer[] | DesiredSet,
  actual: WgState,
  options: PlanOptions,
  memo?: PlanMemo,
): CheckedPlan {
  return diffInterface(desired, actual, options, memo).plan;
}

/**
 * Compares the database with an interface without deciding anything: desired peers that are missing,
 * peers nobody desires, and peers whose compared fields differ (the drift of `diffInterface`). Pure;
 * throws VALIDATION_FAILED for a malformed desired peer.
 */
export function driftReport(
  desired: readonly DesiredPeer[] | DesiredSet,
  actual: WgState,
  memo?: PlanMemo,
): DriftReport {
  return diffInterface(desired, actual, { removeUnknown: false, retired: new Set() }, memo).drift;
}

type Op = { kind: "add"; peer: CheckedPeer } | { kind: "remove" } | { kind: "update"; update: PeerUpdate };

/** A checked peer with a checked update folded in: made of checked values only. */
function applyUpdateToAdd(peer: CheckedPeer, u: PeerUpdate): CheckedPeer {
  const out: Writable<DesiredPeer> = { ...peer };
  if (u.allowedIps !== undefined) {
    out.allowedIps = Object.freeze(
      u.replaceAllowedIps ? [...u.allowedIps] : normaliseCidrSet([...peer.allowedIps, ...u.allowedIps]),
    );
  }
  if (u.endpoint !== undefined) out.endpoint = u.endpoint;
  if (u.persistentKeepalive !== undefined) out.persistentKeepalive = u.persistentKeepalive;
  if (u.presharedKey !== undefined) out.presharedKey = u.presharedKey;
  return sealPeer(out);
}

function combineUpdates(a: PeerUpdate, b: PeerUpdate): PeerUpdate {
  const out: Writable<PeerUpdate> = {
    ...a,
    ...stripUndefined(b),
    replaceAllowedIps: a.replaceAllowedIps || b.replaceAllowedIps,
  };
  if (b.allowedIps !== undefined && !b.replaceAllowedIps && a.allowedIps !== undefined) {
    out.allowedIps = [...new Set([...a.allowedIps, ...b.allowedIps])];
  }
  return out;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * One plan with the effect of applying `plans` in order: per public key, a later remove wins, a later
 * add replaces earlier operations, a later update is folded into an earlier add or update (and is
 * dropped after a remove, as `update_only` would drop it). `unexpected` keeps keys no operation
 * touches. Checked plans merge into a checked plan. Pure.
 */
export function mergePlans(...plans: readonly CheckedPlan[]): CheckedPlan {
  const ops = new Map<string, Op>();
  const unexpected = new Set<string>();
  const reasons: string[] = [];
  for (const plan of plans) {
    if (!isEmptyPlan(plan) || plan.unexpected.length > 0) reasons.push(plan.reason);
    for (const key of plan.remove) ops.set(key, { kind: "remove" });
    for (const peer of plan.add) ops.set(peer.publicKey, { kind: "add", peer });
    for (const u of plan.update) {
      const prev = ops.get(u.publicKey);
      if (!prev) ops.set(u.publicKey, { kind: "update", update: u });
      else if (prev.kind === "add")
        ops.set(u.publicKey, { kind: "add", peer: applyUpdateToAdd(prev.peer, u) });
      else if (prev.kind === "update")
        ops.set(u.publicKey, { kind: "update", update: combineUpdates(prev.update, u) });
    }
    for (const key of plan.unexpected) unexpected.add(key);
  }
  const out: WgPlanLists = { add: [], remove: [], update: [], unexpected: [] };
  for (const [key, op] of ops) {
    if (op.kind === "remove") out.remove.push(key);
    else if (op.kind === "add") out.add.push(op.peer);
    else out.update.push(op.update);
  }
  out.unexpected = [...unexpected].filter((k) => !ops.has(k));
  return sealPlan({ ...out, reason: reasons.length === 0 ? "noChange" : [...new Set(reasons)].join("; ") });
}
