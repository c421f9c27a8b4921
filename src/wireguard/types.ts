/**
 * The shapes the data plane speaks: what an interface holds (`WgState`), what the database wants
 * (`DesiredPeer`, and once checked `CheckedPeer`), the difference between them (`CheckedPlan`), and
 * the port that reads and writes an interface (`WgPort`). Keys are base64 everywhere in these types;
 * only the userspace API wire format uses hex.
 */

/**
 * The mark of a value this module checked (validate.ts): only a cast inside src/wireguard makes
 * one. A TypeScript-private member makes the mark nominal, and a spread copy drops it, so code
 * outside cannot make a checked value, nor copy one with a field replaced, without a cast.
 */
declare class Checked {
  private readonly checked: true;
}

/** One peer as the interface reports it. */
export interface WgPeer {
  /** Base64 public key. */
  publicKey: string;
  hasPresharedKey: boolean;
  /**
   * Base64 preshared key, or null when none is set.
   * IMPORTANT: a secret. Never log a `WgPeer` or `WgState` whole; log `publicKey` and counters.
   */
  presharedKey: string | null;
  /** `ip:port` or `[ip6]:port` as last seen (WireGuard roams it), or null when unknown. */
  endpoint: string | null;
  /** Normalised CIDRs (host bits cleared, canonical text), in the interface's order. */
  allowedIps: string[];
  /** Unix seconds of the latest handshake; 0 when there has never been one. */
  latestHandshake: number;
  rxBytes: number;
  txBytes: number;
  /** Seconds, or null when off. */
  persistentKeepalive: number | null;
}

/** An interface as read from the data plane. Carries no private key. */
export interface WgState {
  /** Base64 public key of the interface, or null while it has no private key. */
  publicKey: string | null;
  /** The port it listens on; 0 when not bound. */
  listenPort: number;
  /** Firewall mark, or null when off. */
  fwmark?: number | null;
  peers: WgPeer[];
}

/**
 * The one shape of a peer between the database and the interface: what the database (or a node's
 * config) wants on an interface. As it comes in, nothing in it is checked; `checkPeer` (through
 * `desiredSet`) makes it a `CheckedPeer`, the only peer a plan holds.
 */
export interface DesiredPeer {
  /** Base64 public key. */
  publicKey: string;
  /**
   * Base64 preshared key. `undefined`: leave whatever the interface has; `null`: the peer must have
   * none (it is removed). IMPORTANT: a secret.
   */
  presharedKey?: string | null;
  /** CIDRs; bare addresses mean a single host. Order does not matter. Never changed by the data plane. */
  allowedIps: readonly string[];
  /**
   * `host:port`. `undefined`/`null`: no opinion (WireGuard learns and roams endpoints, and cannot
   * forget one). Only a set endpoint is compared and written.
   */
  endpoint?: string | null;
  /** Seconds. `undefined`: leave as is; `null` or 0: off. */
  persistentKeepalive?: number | null;
}

/**
 * A desired peer checked once, where it entered the data plane (`checkPeer`): a valid key, canonical
 * allowed IPs (sorted, host bits cleared), a canonical `ip:port` or `host:port` endpoint (never
 * null), a keepalive of 0–65535, a valid preshared key. Frozen, allowed IPs too.
 */
export type CheckedPeer = Readonly<DesiredPeer> & Checked;

/** Fields of an existing peer to change; absent fields are left alone. */
export interface PeerUpdate {
  readonly publicKey: string;
  /** The complete new list when `replaceAllowedIps`; otherwise addresses to append. */
  readonly allowedIps?: readonly string[];
  readonly replaceAllowedIps: boolean;
  readonly endpoint?: string;
  /** 0 turns keepalive off. */
  readonly persistentKeepalive?: number;
  /** null removes the preshared key. IMPORTANT: a secret. */
  readonly presharedKey?: string | null;
}

/**
 * The changes that make an interface match the database, as a caller writes them by hand (tests, a
 * tool): unchecked, so no driver takes one; `checkPlan` makes it a `CheckedPlan`. Each public key
 * appears in at most one of `add`, `remove`, `update`.
 */
export interface WgPlan {
  /** Peers to create; an add of a peer that already exists sets its fields (allowed IPs replaced). */
  readonly add: readonly DesiredPeer[];
  /** Public keys of peers to remove. */
  readonly remove: readonly string[];
  readonly update: readonly PeerUpdate[];
  /** Peers on the interface that the database does not know and the plan leaves alone (drift). */
  readonly unexpected: readonly string[];
  /** Why, for logs: e.g. `addPeers(2) updateAllowedIps(1)`. Never contains keys. */
  readonly reason: string;
}

/**
 * A plan whose every key, address, endpoint and number is checked and canonical, each public key in
 * at most one list: the only plan a `WgPort` applies, so no driver checks it again. Made by the
 * planner (`planInterface`, `diffInterface`) from checked peers, by `mergePlans` and `emptyPlan`,
 * and by `checkPlan` from a hand-written `WgPlan`. Plain data: merge with `mergePlans`, test with
 * `isEmptyPlan`. Applying a plan twice leaves the interface as applying it once; an empty plan writes
 * nothing.
 */
export type CheckedPlan = WgPlan & Checked & { readonly add: readonly CheckedPeer[] };

/** What `driftReport` finds between the database and an interface. */
export interface DriftReport {
  /** Desired public keys absent from the interface. */
  missing: string[];
  /** Public keys on the interface that nobody desires. */
  unexpected: string[];
  /** Peers on both sides whose compared fields differ, with the names of those fields. */
  mismatched: { publicKey: string; fields: PeerField[] }[];
}

export type PeerField = "allowedIps" | "endpoint" | "persistentKeepalive" | "presharedKey";

/** Reads and writes one WireGuard interface. Implemented by the drivers and by `FakeWg`. */
export interface WgPort {
  /** The interface name. */
  readonly name: string;
  /** Reads the whole interface. Throws `WireGuardError` when it cannot be read. */
  dump(): Promise<WgState>;
  /**
   * Applies `plan` in as few writes as the driver allows (one for the userspace API). Returns how
   * many writes it made: 0 for an empty plan. The plan was checked when it was made (`CheckedPlan`).
   * Throws `WireGuardError` when the data plane refuses (earlier parts of the write may then have
   * been applied: reconcile again).
   */
  apply(plan: CheckedPlan): Promise<{ writes: number }>;
}

/** Interface-level settings (not peers). */
export interface DeviceSettings {
  /** Base64 private key. IMPORTANT: a secret; it travels only over the UAPI socket or stdin. */
  privateKey?: string;
  listenPort?: number;
  /** 0 or null turns it off. */
  fwmark?: number | null;
}

/** A port backed by a real interface, which can also set interface-level settings. */
export interface WgDriver extends WgPort {
  readonly kind: "uapi" | "wg";
  /** Sets the given interface-level settings in one write. Peers are untouched. */
  setDevice(settings: DeviceSettings): Promise<void>;
  /** Releases connections. The interface itself is untouched. Safe to call twice. */
  close(): void;
}
