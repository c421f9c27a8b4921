import { normaliseCidrSet } from "./address.js";
import { isEmptyPlan } from "./plan.js";
import type { CheckedPlan, DesiredPeer, WgPeer, WgPort, WgState } from "./types.js";

/**
 * An in-memory `WgPort` for service tests: it takes checked plans like the drivers do and applies
 * them with wireguard-go's semantics (removals, `update_only` updates, adds that replace allowed
 * IPs), so a service tested against it behaves the same on a real interface. Not for production.
 */
export class FakeWg implements WgPort {
  readonly name: string;
  /** Every non-empty plan applied, in order. */
  readonly applied: CheckedPlan[] = [];
  writes = 0;
  dumps = 0;
  private publicKey: string | null;
  private listenPort: number;
  private readonly peers = new Map<string, WgPeer>();
  private failure: Error | null = null;

  constructor(
    name = "wg-fake",
    options: { publicKey?: string | null; listenPort?: number; peers?: WgPeer[] } = {},
  ) {
    this.name = name;
    this.publicKey = options.publicKey ?? null;
    this.listenPort = options.listenPort ?? 51820;
    for (const p of options.peers ?? []) this.peers.set(p.publicKey, structuredClone(p));
  }

  /** A peer as the interface would report it right after `add`. */
  static peerOf(desired: DesiredPeer): WgPeer {
    return {
      publicKey: desired.publicKey,
      hasPresharedKey: desired.presharedKey != null,
      presharedKey: desired.presharedKey ?? null,
      endpoint: desired.endpoint ?? null,
      allowedIps: normaliseCidrSet(desired.allowedIps),
      latestHandshake: 0,
      rxBytes: 0,
      txBytes: 0,
      persistentKeepalive: desired.persistentKeepalive || null,
    };
  }

  /** Makes the next `dump` or `apply` throw `error` (once). */
  failNext(error: Error): void {
    this.failure = error;
  }

  /** Changes a peer behind the planner's back (drift, a handshake, traffic). */
  mutate(publicKey: string, change: Partial<Omit<WgPeer, "publicKey">>): void {
    const peer = this.peers.get(publicKey);
    if (!peer) throw new Error(`fake interface ${this.name} has no such peer`);
    Object.assign(peer, change);
  }

  /** Adds a peer behind the planner's back. */
  inject(peer: WgPeer): void {
    this.peers.set(peer.publicKey, structuredClone(peer));
  }

  async dump(): Promise<WgState> {
    this.throwIfFailing();
    this.dumps++;
    return {
      publicKey: this.publicKey,
      listenPort: this.listenPort,
      fwmark: null,
      peers: [...this.peers.values()].map((p) => structuredClone(p)),
    };
  }

  async apply(p: CheckedPlan): Promise<{ writes: number }> {
    this.throwIfFailing();
    if (isEmptyPlan(p)) return { writes: 0 };
    for (const key of p.remove) this.peers.delete(key);
    for (const u of p.update) {
      const peer = this.peers.get(u.publicKey);
      if (!peer) continue; // update_only
      if (u.allowedIps !== undefined) {
        peer.allowedIps = u.replaceAllowedIps
          ? [...u.allowedIps]
          : normaliseCidrSet([...peer.allowedIps, ...u.allowedIps]);
      } else if (u.replaceAllowedIps) peer.allowedIps = [];
      if (u.endpoint !== undefined) peer.endpoint = u.endpoint;
      if (u.persistentKeepalive !== undefined) peer.persistentKeepalive = u.persistentKeepalive || null;
      if (u.presharedKey !== undefined) {
        peer.presharedKey = u.presharedKey;
        peer.hasPresharedKey = u.presharedKey !== null;
      }
    }
    for (const a of p.add) {
      const existing = this.peers.get(a.publicKey);
      const fresh = FakeWg.peerOf(a);
      if (!existing) {
        this.peers.set(a.publicKey, fresh);
        continue;
      }
      existing.allowedIps = fresh.allowedIps;
      if (a.endpoint != null) existing.endpoint = fresh.endpoint;
      if (a.persistentKeepalive !== undefined) existing.persistentKeepalive = fresh.persistentKeepalive;
      if (a.presharedKey !== undefined) {
        existing.presharedKey = fresh.presharedKey;
        existing.hasPresharedKey = fresh.hasPresharedKey;
      }
    }
    this.applied.push(p);
    this.writes++;
    return { writes: 1 };
  }

  private throwIfFailing(): void {
    const failure = this.failure;
    if (failure) {
      this.failure = null;
      throw failure;
    }
  }
}
