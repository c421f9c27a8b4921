/**
 * The peer sync service: syncs a network's hub interface with the database (read, plan, one write),
 * checks drift without changing anything, and composes the interface access and apply throttle
 * (`hub-interfaces.ts`), usage collection (`usage-readings.ts`) and the start-up reconcile
 * (`reconcile-owned.ts`).
 */
import type { InterfaceBinding } from "../config.js";
import type { Db } from "../db/index.js";
import { DomainError } from "../errors.js";
import { emitEvent } from "../events/index.js";
import type { ConfigService, HubState, LivenessService, NetworkService, NodeService } from "../mesh/index.js";
import { HubPeerMemo } from "../mesh/index.js";
import type { Metrics } from "../metrics/index.js";
import type { UsageService } from "../usage/index.js";
import type { DesiredSet, DriftReport, ForwardingStatus, LinkDrift } from "../wireguard/index.js";
import {
  checkPlan,
  desiredSet,
  diffInterface,
  driftReport,
  handshakeKickPlans,
  isEmptyPlan,
  PlanMemo,
  WireGuardError,
} from "../wireguard/index.js";
import type { ForwardingBoard } from "./forwarding-board.js";
import { createHubInterfaces, hubSettings } from "./hub-interfaces.js";
import type { InterfaceOps } from "./interface-ops.js";
import { createLinkSync, describeLinkDrift } from "./link-sync.js";
import type { OwnedOutcome } from "./reconcile-owned.js";
import { reconcileOwned } from "./reconcile-owned.js";
import { collectUsage } from "./usage-readings.js";

export interface SyncOutcome {
  /** False when no interface of this worker belongs to the network. */
  managed: boolean;
  iface?: string;
  /** One line for the run's record. */
  note: string;
  /** Peers desired on the interface. */
  peers: number;
  /** Writes made to the interface (0 when nothing differed). */
  writes: number;
  /**
   * True when this sync ran as a burst's trailing sync (after the apply throttle's wait, possibly
   * shared with other callers), false when it ran at once.
   */
  coalesced: boolean;
  /** What differed before the apply (for sync runs this is drift; for triggers, the change itself). */
  drift: DriftReport;
  /** How the interface's own settings (MTU, addresses, routes) differed before the apply. */
  settings: LinkDrift[];
  /** What this sync changed on the interface, for logs (`created`, `2 peers added`, `mtu 1380`…). */
  changed: string[];
  /** Forwarding between the interface's peers, when known. */
  forwarding: ForwardingStatus | null;
}

export interface DriftCheck {
  managed: boolean;
  iface: string | null;
  networkId: string;
  missing: string[];
  unexpected: string[];
  mismatched: { publicKey: string; fields: string[] }[];
  /** The interface's own settings that differ from the database (MTU, addresses, routes). */
  settings: LinkDrift[];
  /**
   * Whether the hub forwards between its peers: `problem` says plainly when nodes cannot reach each
   * other, and how to fix it. Null when no interface is managed here.
   */
  forwarding: { ok: boolean; problem: string | null } | null;
  checkedAt: string;
}

/** An interface's peers as they are (`readPeers`): no preshared key, only whether there is one. */
export interface InterfacePeers {
  /** False when no interface of this worker belongs to the network. */
  managed: boolean;
  iface: string | null;
  /** The interface's public key, to compare with the network's hub key. */
  publicKey: string | null;
  listenPort: number | null;
  peers: {
    publicKey: string;
    allowedIps: string[];
    endpoint: string | null;
    hasPresharedKey: boolean;
    latestHandshake: number;
  }[];
}

export interface PeerSyncDeps {
  db: Db;
  networks: NetworkService;
  nodes: NodeService;
  configs: ConfigService;
  liveness: LivenessService;
  usage: UsageService;
  bindings: readonly InterfaceBinding[];
  ops: InterfaceOps;
  metrics?: Metrics;
  /**
   * The apply throttle's window (`apply-throttle.ts`): a sync finding its interface idle runs at once;
   * syncs arriving while it is busy, or within this long after a coalesced write, share one trailing
   * sync this long after the last write, so a burst lands in few writes. 0 turns it off.
   */
  minApplyIntervalMs?: number;
  /** Where forwarding problems are posted for other processes (`/health/ready`). */
  forwardingBoard?: ForwardingBoard;
  /**
   * The lease fence of a hub host (src/hubs): peers are applied to a network's interface only while
   * `holds` says this host holds its lease. Without one, this process applies to every interface it
   * owns (a single hub host).
   */
  fence?: { holds(networkId: string): boolean };
}

/** What the syncs of one interface keep for the next (`createPeerSyncService`'s `prepared`). */
interface Prepared {
  /** The network last synced through the interface; the record is for it alone. */
  networkId: string;
  /** Its hub peers' last read: only nodes that changed since cost a parse (`ConfigService.hubState`). */
  hubPeers: HubPeerMemo;
  /** Its last desired set: the next one is made from it, so unchanged peers are not checked again. */
  set: DesiredSet | null;
  /** Which interface peers agreed with a desired peer, so they are not compared again. */
  memo: PlanMemo;
  /**
   * The last full sync's desired set and the peers it left on the interface, plus the keys targeted
   * applies added since (for the `interface_peers` gauge). Null before the first full sync: a
   * targeted apply then falls back to one.
   */
  synced: { set: DesiredSet; peers: number; joined: Set<string> } | null;
}

export interface SyncOptions {
  /** Remove peers the database does not know (drift fix). */
  removeUnknown: boolean;
  /** Count differences as drift (metrics, `drift.detected`); also re-reads the interface's settings. */
  reportDrift: boolean;
  /** Re-read the interface's own settings and forwarding even when nothing changed in the database. */
  checkSettings?: boolean;
}

/** A cached binding turned out stale (the network was renamed or deleted): resolve it again. */
const RESOLVE_AGAIN = Symbol("resolve again");
/**
 * A targeted apply cannot do the change justice (routes, a renamed network, a refusing interface,
 * too many pending nodes): the full sync that follows applies the pending nodes and deletes their rows.
 */
const FULL_SYNC = Symbol("full sync");
/**
 * A targeted apply that found the interface idle learnt from its read that it belongs to a burst
 * still within the apply window: it wrote nothing, and runs again as the burst's trailing apply.
 */
const TRAILING = Symbol("trailing");
/**
 * The most pending joins one targeted apply reads; a network with more is synced in full (which reads
 * every node anyway, and deletes every pending row it read before).
 */
const MAX_PENDING_JOINS_PER_APPLY = 1_000;
/** Pending nodes found by one targeted apply, within the window of a write, that make it a burst's (see `applyPendingJoined`). */
const MIN_BURST_JOINS = 2;

const emptyDrift = (): DriftReport => ({ missing: [], unexpected: [], mismatched: [] });

export const driftCount = (d: DriftReport) => d.missing.length + d.unexpected.length + d.mismatched.length;

export type PeerSyncService = ReturnType<typeof createPeerSyncService>;

/**
 * Keeps the hub interfaces this worker owns in step with the database: read the interface, plan the
 * difference (pure), apply it in one write. One operation per interface at a time.
 */
export function createPeerSyncService(deps: PeerSyncDeps) {
  function bindingFor(network: { id: string; name: string }): InterfaceBinding | undefined {
    return deps.bindings.find((b) => b.network === network.id || b.network === network.name);
  }

  /**
   * What the syncs of each interface keep for the next one, for the network last synced through it
   * (`Prepared`). Per interface, not per network: a network deleted or moved to another interface
   * leaves at most its interface's record behind, until the next sync there replaces it (a sync
   * that finds the network gone drops it at once).
   */
  const prepared = new Map<string, Prepared>();
  /** The interface's record for `networkId`: its last one, or a fresh one if that was another network's. */
  const preparedFor = (binding: InterfaceBinding, networkId: string): Prepared => {
    const last = prepared.get(binding.iface);
    if (last?.networkId === networkId) return last;
    const fresh: Prepared = {
      networkId,
      hubPeers: new HubPeerMemo(),
      set: null,
      memo: new PlanMemo(),
      synced: null,
    };
    prepared.set(binding.iface, fresh);
    return fresh;
  };
  /** The record's desired set for `hub`, made from its last one (and kept as the next one's base). */
  const desiredFor = (record: Prepared, hub: HubState): DesiredSet => {
    record.set = desiredSet(hub.peers, record.set ?? undefined);
    return record.set;
  };
  /** What the last full sync of the network through `binding` left, if it was the last one there. */
  const syncedThrough = (binding: InterfaceBinding, networkId: string) => {
    const record = prepared.get(binding.iface);
    return record?.networkId === networkId ? record.synced : null;
  };
  /** Drops what is kept of the network (it is gone, or no longer synced here). */
  const forget = (networkId: string) => {
    for (const [iface, record] of prepared) if (record.networkId === networkId) prepared.delete(iface);
  };

  /** Where each network synced here was last found to be served; checked again under the lock. */
  const served = new Map<string, InterfaceBinding>();

  const mayApply = (networkId: string) => deps.fence?.holds(networkId) ?? true;
  /** The outcome of a sync that applied nothing here: `note` says why. */
  const unmanaged = (note: string, extra: { iface?: string; peers?: number } = {}): SyncOutcome => ({
    managed: false,
    ...(extra.iface === undefined ? {} : { iface: extra.iface }),
    note,
    peers: extra.peers ?? 0,
    writes: 0,
    coalesced: false,
    drift: emptyDrift(),
    settings: [],
    changed: [],
    forwarding: null,
  });
  const standby = (binding: InterfaceBinding): SyncOutcome =>
    unmanaged(
      `${binding.iface}: standby; this hub host does not hold the network's lease, so it applies nothing`,
      {
        iface: binding.iface,
      },
    );
  const gone = (note = "the network no longer exists"): SyncOutcome => unmanaged(note);

  const links = createLinkSync({
    ops: deps.ops,
    ...(deps.forwardingBoard ? { forwardingBoard: deps.forwardingBoard } : {}),
    addressesOf: (hub) => hubSettings(hub).addresses,
  });
  const hubs = createHubInterfaces({
    ops: deps.ops,
    configs: deps.configs,
    minApplyIntervalMs: deps.minApplyIntervalMs ?? 0,
    forget: links.forget,
  });
  const { exclusive, port, readInterface, loadHub } = hubs;
  const reconcileLink = links.reconcile;

  /**
   * Syncs a network through `binding` under the interface's lock. Returns RESOLVE_AGAIN, having
   * changed nothing, when the network read inside the lock is no longer bound there (renamed) or is
   * gone, so the caller resolves the binding afresh.
   */
  function syncBound(
    networkId: string,
    binding: InterfaceBinding,
    options: SyncOptions,
  ): Promise<SyncOutcome | typeof RESOLVE_AGAIN> {
    const key = `${networkId} ${options.removeUnknown} ${options.reportDrift} ${options.checkSettings === true}`;
    const locked = async (coalesced: boolean): Promise<SyncOutcome | typeof RESOLVE_AGAIN> => {
      // IMPORTANT: read before the network's nodes are: each pending join read here was committed
      // before that read, so this sync's write carries its peer (or the node is disabled or gone),
      // and its row can go once the write succeeded. Rows committed later stay for their own apply.
      const pendingJoins = await deps.configs.pendingJoinIds(networkId);
      const record = preparedFor(binding, networkId);
      const loaded = await loadHub(binding, networkId, record.hubPeers).catch(
        (err: unknown): typeof RESOLVE_AGAIN => {
          if (err instanceof DomainError && err.code === "NETWORK_NOT_FOUND") return RESOLVE_AGAIN;
          throw err;
        },
      );
      if (loaded === RESOLVE_AGAIN || bindingFor(loaded.state.network) !== binding) return RESOLVE_AGAIN;
      const { state: hub, reading } = loaded;
      const network = hub.network;
      // Checked and indexed while the interface may still be answering.
      const desired = desiredFor(record, hub);
      const changed: string[] = [];
      const ensureDrift: LinkDrift[] = [];
      const actual = await readInterface(binding, hub, reading, changed, ensureDrift);
      const { plan, drift } = diffInterface(
        desired,
        actual,
        { removeUnknown: options.removeUnknown, retired: new Set(hub.retired) },
        record.memo,
      );
      // IMPORTANT: the lease may have been lost while the database and the interface were read.
      if (!mayApply(networkId)) return standby(binding);
      const { writes } = isEmptyPlan(plan) ? { writes: 0 } : await port(binding).apply(plan);
      if (writes > 0) {
        hubs.wrote(binding.iface, coalesced);
        deps.metrics?.interfaceWrites.inc({ interface: binding.iface }, writes);
      }
      if (writes > 0) changed.push(plan.reason);
      if (changed.includes("privateKey") && !changed.includes("created")) {
        // The hub key changed (a rotation's switch): every session is gone. Shake hands with every
        // peer now rather than when each next has a packet for it; an agent moves the hub's
        // addresses to the new key as soon as its handshake completes.
        const kicks = handshakeKickPlans((await port(binding).dump()).peers);
        for (const kick of kicks) await port(binding).apply(kick);
        changed.push(`handshakes kicked (${kicks.length} writes)`);
      }
      const link = await reconcileLink(binding, hub, {
        all: options.reportDrift || options.checkSettings === true,
        apply: true,
      });
      changed.push(...link.changed);
      link.drift.unshift(...ensureDrift);
      const onInterface = actual.peers.length + plan.add.length - plan.remove.length;
      record.synced = { set: desired, peers: onInterface, joined: new Set() };
      await deps.configs.pendingJoinsApplied(networkId, pendingJoins);
      deps.metrics?.interfacePeers.set({ interface: binding.iface }, onInterface);
      if (options.reportDrift && driftCount(drift) + link.drift.length > 0) {
        for (const [kind, n] of [
          ["missing", drift.missing.length],
          ["unexpected", drift.unexpected.length],
          ["mismatched", drift.mismatched.length],
        ] as const) {
          if (n > 0) deps.metrics?.driftDetected.inc({ network: network.name, kind }, n);
        }
        await emitEvent(deps.db, {
          type: "drift.detected",
          data: {
            network: { id: network.id, name: network.name },
            interface: binding.iface,
            missing: drift.missing.length,
            unexpected: drift.unexpected.length,
            mismatched: drift.mismatched.length,
            settings: link.drift.length,
            removedUnknown: options.removeUnknown,
          },
        });
      }
      const driftNote =
        driftCount(drift) > 0
          ? `; drift: ${drift.missing.length} missing, ${drift.unexpected.length} unexpected, ${drift.mismatched.length} mismatched`
          : "";
      const left =
        plan.unexpected.length > 0 ? `; ${plan.unexpected.length} unknown peers left in place` : "";
      const settingsNote =
        link.drift.length > 0 ? `; interface drift: ${link.drift.map(describeLinkDrift).join(", ")}` : "";
      const forwardingNote = link.forwarding?.problem ? `; ${link.forwarding.problem}` : "";
      return {
        managed: true,
        iface: binding.iface,
        note: `${binding.iface}: ${plan.reason} in ${writes} write(s); ${desired.peers.length} peers${driftNote}${left}${settingsNote}${forwardingNote}`,
        peers: desired.peers.length,
        writes,
        coalesced,
        drift,
        settings: link.drift,
        changed,
        forwarding: link.forwarding,
      };
    };
    return hubs.throttled(binding.iface, key, locked);
  }

  /**
   * Keeps the `interface_peers` gauge true after a targeted apply wrote `peers`, without reading
   * the interface: a peer counts once unless the last full sync had it desired (so on the
   * interface) or an earlier targeted apply since counted it. The next full sync counts afresh.
   */
  function countJoined(
    binding: InterfaceBinding,
    networkId: string,
    peers: readonly { publicKey: string }[],
  ) {
    const synced = syncedThrough(binding, networkId);
    if (!synced) return;
    for (const { publicKey } of peers) {
      if (synced.set.index.has(publicKey) || synced.joined.has(publicKey)) continue;
      synced.joined.add(publicKey);
      synced.peers++;
    }
    deps.metrics?.interfacePeers.set({ interface: binding.iface }, synced.peers);
  }

  /**
   * Applies the peers of the network's pending joined nodes (`pending_joins`) under the interface's
   * lock: one read of their rows, one write, nothing else read; then deletes the rows read. Returns
   * FULL_SYNC, having written nothing, when only a full sync can apply them.
   */
  async function applyPendingJoined(
    networkId: string,
    binding: InterfaceBinding,
    coalesced: boolean,
    /** False when this is the apply's second turn, after a TRAILING: it writes whatever it reads. */
    mayDefer = true,
  ): Promise<SyncOutcome | typeof FULL_SYNC | typeof TRAILING> {
    const outcome = (writes: number, peers: number, note: string): SyncOutcome => ({
      managed: true,
      iface: binding.iface,
      note: `${binding.iface}: ${note}`,
      peers,
      writes,
      coalesced,
      drift: emptyDrift(),
      settings: [],
      changed: writes > 0 ? [`${peers} joined peers applied`] : [],
      forwarding: null,
    });
    // IMPORTANT: read under the lock, after the enrollments committed (each before its trigger was
    // queued): a node deleted since is absent (its row went with it), a disabled one is not added,
    // and a removal's full sync runs after this write (same lock).
    const found = await deps.configs.pendingHubPeers(networkId, MAX_PENDING_JOINS_PER_APPLY + 1);
    const read = found.nodeIds;
    // An earlier apply (or full sync) applied them and deleted their rows: nothing is left to do.
    if (read.length === 0) return outcome(0, 0, "joined peers applied by an earlier write");
    if (read.length > MAX_PENDING_JOINS_PER_APPLY || found.routes) return FULL_SYNC;
    if (found.networkName !== null && bindingFor({ id: networkId, name: found.networkName }) !== binding)
      return FULL_SYNC;
    // IMPORTANT: the queue runs one targeted job per network at a time (BullMQ's keepLastIfActive),
    // so the nodes that join while an apply is in flight reach the next one only after it finished,
    // finding the interface idle: the throttle alone would write each such batch at once, and a
    // burst would cost a write per job. Two or more pending nodes within the window of the
    // interface's last write are a burst: this read is left for its trailing apply, one window after
    // that write. One alone is applied at once (a client enrolling one node after another, each as
    // soon as the last is on the interface, must not wait a window each time).
    if (mayDefer && !coalesced && read.length >= MIN_BURST_JOINS && hubs.burst(binding.iface))
      return TRAILING;
    if (found.peers.length === 0) {
      await deps.configs.pendingJoinsApplied(networkId, read);
      return outcome(0, 0, `none of ${read.length} joined nodes is active`);
    }
    const plan = checkPlan({
      add: found.peers,
      remove: [],
      update: [],
      unexpected: [],
      reason: `addPeers(${found.peers.length})`,
    });
    // IMPORTANT: the lease may have been lost while the nodes were read; the rows stay for the holder.
    if (!mayApply(networkId)) return standby(binding);
    let writes: number;
    try {
      ({ writes } = await port(binding).apply(plan));
    } catch (err) {
      // A missing or refusing interface is the full sync's to repair (it creates or re-keys it).
      if (err instanceof WireGuardError) return FULL_SYNC;
      // The rows stay: this job's retry, or the next apply of the network, reads them again.
      throw err;
    }
    if (writes > 0) {
      hubs.wrote(binding.iface, coalesced);
      deps.metrics?.interfaceWrites.inc({ interface: binding.iface }, writes);
      countJoined(binding, networkId, found.peers);
    }
    // IMPORTANT: deleted after the write, never on read: a worker that dies in between leaves them,
    // and the job's stalled-job recovery (or the next targeted job) applies them again; adding a peer
    // that is there already is harmless. Only the rows read: later ones wait for their own apply.
    await deps.configs.pendingJoinsApplied(networkId, read);
    return outcome(
      writes,
      found.peers.length,
      `${plan.reason} in ${writes} write(s) (targeted: joined nodes)`,
    );
  }

  return {
    /** The interface this worker manages for a network, if any. */
    bindingFor,

    /**
     * Makes the network's interface match the database. Peers of deleted or disabled nodes leave it;
     * peers nobody knows stay (and show as drift) unless `removeUnknown`. With `reportDrift`, found
     * differences are counted in metrics and recorded as a `drift.detected` event.
     */
    async syncNetwork(networkId: string, options: SyncOptions): Promise<SyncOutcome> {
      const cached = served.get(networkId);
      if (cached && !mayApply(networkId)) return standby(cached);
      if (cached) {
        const outcome = await syncBound(networkId, cached, options);
        if (outcome !== RESOLVE_AGAIN) return outcome;
        served.delete(networkId);
      }
      const network = await deps.networks.findNetwork(networkId);
      if (!network) {
        forget(networkId);
        return gone();
      }
      const binding = bindingFor(network);
      if (!binding) {
        forget(networkId);
        // No interface here to apply the network's pending joins to, and the lease holder (if any
        // other host ever is one) syncs in full when it takes the network: left, they would pile up.
        // Not so for a standby (below), which leaves them to the holder.
        const [{ total }] = await Promise.all([
          deps.nodes.listNodes({ networkId, limit: 1, offset: 0 }),
          deps.configs.dropPendingJoins(networkId),
        ]);
        return unmanaged(`no WireGuard interface is managed for this network here; ${total} desired peers`, {
          peers: total,
        });
      }
      if (!mayApply(network.id)) return standby(binding);
      served.set(networkId, binding);
      const outcome = await syncBound(networkId, binding, options);
      if (outcome !== RESOLVE_AGAIN) return outcome;
      // Renamed or deleted between the two reads: the next sync resolves it afresh.
      served.delete(networkId);
      forget(networkId);
      return gone("the network was renamed or deleted while it was being synced");
    },

    /**
     * Adds the peers of the nodes pending in the network's `pending_joins` to its interface (an
     * enrollment's trigger): reads those nodes' rows and writes their peers (allowed IPs replaced) in
     * one write, without reading the rest of the network or the interface, then deletes the rows it
     * read. Under the interface's lock and the apply throttle like `syncNetwork`: applies arriving
     * during a write or a burst share the trailing apply, which reads every row pending by then, so
     * every caller's nodes are in its write. Disabled nodes are skipped (their rows deleted). Falls
     * back to `syncNetwork` (no removals), which applies the pending nodes and deletes their rows,
     * where only it can apply the change: a network not yet synced by this worker (the interface may
     * need creating, its settings and forwarding checking), nodes with routes behind them, a renamed
     * network, an interface that is missing or refuses, more than `MAX_PENDING_JOINS_PER_APPLY`
     * pending nodes. In the outcome, `peers` counts the joined peers written, not the interface's.
     */
    async applyJoined(networkId: string): Promise<SyncOutcome> {
      const full = () => this.syncNetwork(networkId, { removeUnknown: false, reportDrift: false });
      const binding = served.get(networkId);
      if (!binding || !syncedThrough(binding, networkId)) return full();
      if (!mayApply(networkId)) return standby(binding);
      const apply = (mayDefer: boolean) =>
        hubs.throttled(binding.iface, `joined ${networkId}`, (coalesced) =>
          applyPendingJoined(networkId, binding, coalesced, mayDefer),
        );
      let outcome = await apply(true);
      // Marked as a burst now, so the throttle makes this the trailing apply (shared with the
      // callers that join it); when the window has passed meanwhile, it runs at once.
      if (outcome === TRAILING) outcome = await apply(false);
      if (outcome === TRAILING) throw new Error(`targeted apply of ${networkId} deferred twice`);
      return outcome === FULL_SYNC ? full() : outcome;
    },

    /** Compares the database with the live interface without changing anything. */
    async checkDrift(networkId: string): Promise<DriftCheck> {
      const network = await deps.networks.getNetwork(networkId);
      const found = bindingFor(network);
      const binding = found && mayApply(network.id) ? found : undefined;
      const checkedAt = new Date().toISOString();
      if (!binding)
        return {
          managed: false,
          iface: null,
          networkId,
          ...emptyDrift(),
          settings: [],
          forwarding: null,
          checkedAt,
        };
      return exclusive(binding.iface, async () => {
        const record = preparedFor(binding, networkId);
        const { state: hub, reading } = await loadHub(binding, networkId, record.hubPeers);
        const desired = desiredFor(record, hub); // while the interface may still be answering
        const ensureDrift: LinkDrift[] = [];
        const report = driftReport(
          desired,
          await readInterface(binding, hub, reading, undefined, ensureDrift),
          record.memo,
        );
        const link = await reconcileLink(binding, hub, { all: true, apply: false });
        link.drift.unshift(...ensureDrift);
        const forwarding = link.forwarding
          ? { ok: link.forwarding.problem === null, problem: link.forwarding.problem }
          : null;
        return {
          managed: true,
          iface: binding.iface,
          networkId,
          ...report,
          settings: link.drift,
          forwarding,
          checkedAt,
        };
      });
    },

    /**
     * The peers on the network's interface as they are, for adoption: read only, never created,
     * repaired or written (a wrong key or port is reported, not fixed). Preshared keys stay here:
     * only whether a peer has one is returned (the result travels through Redis). Throws
     * NETWORK_NOT_FOUND, WIREGUARD_UNAVAILABLE (the interface is missing or does not answer).
     */
    async readPeers(networkId: string): Promise<InterfacePeers> {
      const network = await deps.networks.getNetwork(networkId);
      const binding = bindingFor(network);
      if (!binding) return { managed: false, iface: null, publicKey: null, listenPort: null, peers: [] };
      const state = await exclusive(binding.iface, () => port(binding).dump());
      return {
        managed: true,
        iface: binding.iface,
        publicKey: state.publicKey,
        listenPort: state.listenPort,
        peers: state.peers.map((p) => ({
          publicKey: p.publicKey,
          allowedIps: p.allowedIps,
          endpoint: p.endpoint,
          hasPresharedKey: p.hasPresharedKey,
          latestHandshake: p.latestHandshake,
        })),
      };
    },

    /** Reads transfer counters and handshakes of the network's interface into monthly usage. */
    collectUsage(networkId: string): Promise<{ managed: boolean; note: string }> {
      return collectUsage({ ...deps, hubs, bindingFor }, networkId);
    },

    /**
     * Creates or adopts every interface this worker owns and reconciles it now (peers, settings,
     * forwarding), one after another; for a worker's start, so a restart does not wait for the next
     * scheduled reconcile. Never throws: each binding's outcome or error is returned.
     */
    reconcileOwned(): Promise<OwnedOutcome[]> {
      return reconcileOwned(deps, (networkId, options) => this.syncNetwork(networkId, options));
    },

    /**
     * Removes every peer from the network's interface, reading only the interface (never the
     * database, which may be what failed): for a hub host that lost the network's lease. With
     * `prepare`, first creates or repairs the interface with the database's key and port, so that a
     * standby takes over with one write. Resolves with the number of peers removed; 0 when this
     * host has no interface for the network or it does not exist.
     */
    async clearPeers(
      network: { id: string; name: string },
      options: { prepare?: boolean } = {},
    ): Promise<number> {
      const networkId = network.id;
      const bound = bindingFor(network);
      if (!bound) return 0;
      forget(networkId);
      served.delete(networkId);
      return exclusive(bound.iface, async () => {
        let actual: Awaited<ReturnType<ReturnType<typeof port>["dump"]>>;
        if (options.prepare) {
          const { state: hub, reading } = await loadHub(bound, networkId);
          actual = await readInterface(bound, hub, reading);
        } else {
          try {
            actual = await port(bound).dump();
          } catch {
            return 0; // no interface: nothing to carry
          }
        }
        if (actual.peers.length === 0) return 0;
        const plan = checkPlan({
          add: [],
          remove: actual.peers.map((p) => p.publicKey),
          update: [],
          unexpected: [],
          reason: `removePeers(${actual.peers.length})`,
        });
        await port(bound).apply(plan);
        deps.metrics?.interfacePeers.set({ interface: bound.iface }, 0);
        return actual.peers.length;
      });
    },

    /**
     * What is kept between syncs, per interface: the network last synced through it and how many of
     * its hub peers are memoised (no peer itself: they hold preshared keys). For diagnostics.
     */
    kept(): { iface: string; networkId: string; peers: number }[] {
      return [...prepared].map(([iface, record]) => ({
        iface,
        networkId: record.networkId,
        peers: record.hubPeers.toJSON().peers,
      }));
    },

    /** Releases driver connections (interfaces stay up). */
    close: hubs.close,
  };
}
