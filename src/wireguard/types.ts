/**
 * The shapes the data plane speaks: what an interface holds (`WgState`), what the database wants
 * (`DesiredPeer`), the difference between them (`WgPlan`), and the port that reads and writes an
 * interface (`WgPort`). Keys are base64 everywhere in these types; only the userspace API wire format
 * uses hex.
 */

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

/** A peer the database wants on an interface. */
export interface DesiredPeer {
  /** Base64 public key. */
  publicKey: string;
  /**
   * Base64 preshared key. `undefined`: leave whatever the interface has; `null`: the peer must have
   * none (it is removed). IMPORTANT: a secret.
   */
  presharedKey?: string | null;
  /** CIDRs; bare addresses mean a single host. Order does not matter. */
  allowedIps: string[];
  /**
   * `host:port`. `undefined`/`null`: no opinion (WireGuard learns and roams endpoints, and cannot
   * forget one). Only a set endpoint is compared and written.
   */
  endpoint?: string | null;
  /** Seconds. `undefined`: leave as is; `null` or 0: off. */
  persistentKeepalive?: number | null;
}

/** Fields of an existing peer to change; absent fields are left alone. */
export interface PeerUpdate {
  publicKey: string;
  /** The complete new list when `replaceAllowedIps`; otherwise addresses to append. */
  allowedIps?: string[];
  replaceAllowedIps: boolean;
  endpoint?: string;
  /** 0 turns keepalive off. */
  persistentKeepalive?: number;
  /** null removes the preshared key. IMPORTANT: a secret. */
  presharedKey?: string | null;
}

/**
 * The changes that make an interface match the database. Plain data: merge with `mergePlans`, test
 * with `isEmptyPlan`. Applying a plan twice leaves the interface as applying it once; an empty plan
 * writes nothing. Each public key appears in at most one of `add`, `remove`, `update`.
 */
export interface WgPlan {
  /** Peers to create; an add of a peer that already exists sets its fields (allowed IPs replaced). */
  add: DesiredPeer[];
  /** Public keys of peers to remove. */
  remove: string[];
  update: PeerUpdate[];
  /** Peers on the interface that the database does not know and the plan leaves alone (drift). */
  unexpected: string[];
  /** Why, for logs: e.g. `addPeers(2) updateAllowedIps(1)`. Never contains keys. */
  reason: string;
}

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
   * many writes it made: 0 for an empty plan. Throws `DomainError` VALIDATION_FAILED, before writing
   * anything, for a plan with a bad key, address or value; `WireGuardError` when the data plane
   * refuses (earlier parts of the write may then have been applied: reconcile again).
   */
  apply(plan: WgPlan): Promise<{ writes: number }>;
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
