import type { InterfaceBinding } from "../config.js";
import type { Db } from "../db/index.js";
import { DomainError } from "../errors.js";
import { emitEvent } from "../events/index.js";
import type { ConfigService, HubState, LivenessService, NetworkService, NodeService } from "../mesh/index.js";
import { parseCidr } from "../mesh/index.js";
import type { Metrics } from "../metrics/index.js";
import type { UsageService } from "../usage/index.js";
import type {
  ActualLink,
  DesiredSet,
  DriftReport,
  ForwardingMode,
  ForwardingStatus,
  LinkDrift,
  LinkPlan,
  WgPort,
  WgState,
} from "../wireguard/index.js";
import {
  applyLinkPlan,
  desiredSet,
  diffInterface,
  driftReport,
  ensureForwarding,
  ensureInterface,
  isEmptyPlan,
  openDriver,
  PlanMemo,
  readLinkState,
  WireGuardError,
} from "../wireguard/index.js";
import type { ForwardingBoard } from "./forwarding-board.js";
import { createLinkSync, describeLinkDrift } from "./link-sync.js";

/** How the service reaches interfaces: real drivers in production, `FakeWg` in service tests. */
export interface InterfaceOps {
  open(binding: InterfaceBinding): WgPort & { close?(): void };
  /**
   * Creates or repairs the interface itself (key, port, addresses, MTU); peers are untouched.
   * Resolves with what it changed (`created`, `privateKey`, `listenPort`) when it knows.
   */
  ensure(
    binding: InterfaceBinding,
    hub: { privateKey: string; listenPort: number; addresses: string[]; mtu?: number },
  ): Promise<string[] | undefined>;
  /** Reads the interface's own settings (MTU, addresses, wiresync's routes); absent in fakes. */
  readLink?(binding: InterfaceBinding): Promise<ActualLink>;
  /** Applies a plan of the interface's own settings. */
  applyLink?(binding: InterfaceBinding, plan: LinkPlan): Promise<void>;
  /**
   * Forwarding between the interface's peers: turned on (`apply`) or only read back. Never throws
   * for a refusal: the status names the problem.
   */
  forwarding?(binding: InterfaceBinding, ipv6: boolean, apply: boolean): Promise<ForwardingStatus>;
}

/**
 * The real interfaces: the userspace API socket when present (else `wg`), `ensureInterface`, link
 * settings with `ip`, and forwarding per `forwarding` for the interfaces of `bindings` (each
 * namespace's isolation table lists every owned interface in it).
 */
export function realInterfaceOps(
  driver: "auto" | "uapi" | "wg",
  options: { forwarding?: ForwardingMode; bindings?: readonly InterfaceBinding[] } = {},
): InterfaceOps {
  return {
    open: (b) => openDriver(b.iface, { driver, netns: b.netns }),
    async ensure(b, hub) {
      const ensured = await ensureInterface({
        name: b.iface,
        privateKey: hub.privateKey,
        listenPort: hub.listenPort,
        addresses: hub.addresses,
        ...(hub.mtu ? { mtu: hub.mtu } : {}),
        ...(b.netns ? { netns: b.netns } : {}),
      });
      return ensured.changed;
    },
    readLink: (b) => readLinkState(b.iface, b.netns),
    applyLink: (b, plan) => applyLinkPlan(b.iface, b.netns, plan),
    forwarding: (b, ipv6, apply) =>
      ensureForwarding({
        iface: b.iface,
        netns: b.netns,
        owned: [b, ...(options.bindings ?? [])].filter((o) => o.netns === b.netns).map((o) => o.iface),
        ipv6,
        mode: options.forwarding ?? "on",
        readOnly: !apply,
      }),
  };
}

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
   * Least time between two writes to one interface. A sync arriving sooner waits out the rest, so a
   * burst of changes lands in few writes (the first at once, the rest together). 0 turns it off.
   */
  minApplyIntervalMs?: number;
  /** Where forwarding problems are posted for other processes (`/health/ready`). */
  forwardingBoard?: ForwardingBoard;
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

const emptyDrift = (): DriftReport => ({ missing: [], unexpected: [], mismatched: [] });

export const driftCount = (d: DriftReport) => d.missing.length + d.unexpected.length + d.mismatched.length;

export type PeerSyncService = ReturnType<typeof createPeerSyncService>;

/**
 * Keeps the hub interfaces this worker owns in step with the database: read the interface, plan the
 * difference (pure), apply it in one write. One operation per interface at a time.
 */
export function createPeerSyncService(deps: PeerSyncDeps) {
  const ports = new Map<string, WgPort & { close?(): void }>();
  const locks = new Map<string, Promise<unknown>>();
  const lastApply = new Map<string, number>();
  const minInterval = deps.minApplyIntervalMs ?? 0;

  function bindingFor(network: { id: string; name: string }): InterfaceBinding | undefined {
    return deps.bindings.find((b) => b.network === network.id || b.network === network.name);
  }

  /** Runs `fn` after every earlier operation on the same interface has finished. */
  function exclusive<T>(iface: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(iface) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    locks.set(iface, next);
    return next.finally(() => {
      if (locks.get(iface) === next) locks.delete(iface);
    });
  }

  function port(binding: InterfaceBinding) {
    let p = ports.get(binding.iface);
    if (!p) {
      p = deps.ops.open(binding);
      ports.set(binding.iface, p);
    }
    return p;
  }

  function hubSettings(hub: HubState) {
    const n = hub.network;
    const addresses = [`${n.hubIp4}/${parseCidr(n.cidr4).prefix}`];
    if (n.hubIp6 && n.cidr6) addresses.push(`${n.hubIp6}/${parseCidr(n.cidr6).prefix}`);
    return {
      privateKey: hub.hubPrivateKey,
      listenPort: n.listenPort,
      addresses,
      ...(n.mtu ? { mtu: n.mtu } : {}),
    };
  }

  /**
   * Finishes `reading` (a dump begun while the database was read), creating or repairing the
   * interface first when it is missing or carries another key or port than the database says.
   * What it changed goes to `ensuredNow`, a key or port that differed to `found` (as drift).
   */
  async function readInterface(
    binding: InterfaceBinding,
    hub: HubState,
    reading: Promise<WgState>,
    ensuredNow?: string[],
    found?: LinkDrift[],
  ): Promise<WgState> {
    let actual: WgState;
    try {
      actual = await reading;
    } catch (err) {
      if (!(err instanceof WireGuardError)) throw err;
      const changed = await deps.ops.ensure(binding, hubSettings(hub));
      ensuredNow?.push(...(changed ?? ["interface"]));
      forget(binding.iface);
      ports.get(binding.iface)?.close?.();
      ports.delete(binding.iface);
      return port(binding).dump();
    }
    if (actual.publicKey !== hub.network.hubPublicKey || actual.listenPort !== hub.network.listenPort) {
      if (actual.listenPort !== hub.network.listenPort)
        found?.push({
          field: "listenPort",
          desired: String(hub.network.listenPort),
          actual: String(actual.listenPort),
        });
      if (actual.publicKey !== hub.network.hubPublicKey)
        found?.push({ field: "publicKey", desired: hub.network.hubPublicKey, actual: actual.publicKey });
      const changed = await deps.ops.ensure(binding, hubSettings(hub));
      ensuredNow?.push(...(changed ?? ["interface"]));
      forget(binding.iface);
      actual = await port(binding).dump();
    }
    return actual;
  }

  /**
   * Reads the network's desired state while its interface is read: neither waits for the other (for
   * 10,000 peers each takes tens of milliseconds). The dump is settled by `readInterface`.
   */
  async function loadHub(binding: InterfaceBinding, networkId: string) {
    let reading: Promise<WgState>;
    try {
      reading = port(binding).dump();
    } catch (err) {
      reading = Promise.reject(err); // a driver that cannot even open: readInterface judges it
    }
    reading.catch(() => {}); // observed by readInterface; this only covers a failing hubState
    return { state: await deps.configs.hubState(networkId), reading };
  }

  /**
   * Each network's desired set from its last sync: reused while its desired peers are unchanged, and
   * the base of the next one when some change; with the plan memo that remembers which interface
   * peers already agreed, so a reconcile need not compare them again.
   */
  const prepared = new Map<string, { set: DesiredSet; memo: PlanMemo }>();
  const desiredFor = (networkId: string, hub: HubState): { set: DesiredSet; memo: PlanMemo } => {
    const last = prepared.get(networkId);
    const next = { set: desiredSet(hub.peers, last?.set), memo: last?.memo ?? new PlanMemo() };
    prepared.set(networkId, next);
    return next;
  };

  /** Where each network synced here was last found to be served; checked again under the lock. */
  const served = new Map<string, InterfaceBinding>();

  const gone = (note = "the network no longer exists"): SyncOutcome => ({
    managed: false,
    note,
    peers: 0,
    writes: 0,
    drift: emptyDrift(),
    settings: [],
    changed: [],
    forwarding: null,
  });

  const links = createLinkSync({
    ops: deps.ops,
    ...(deps.forwardingBoard ? { forwardingBoard: deps.forwardingBoard } : {}),
    addressesOf: (hub) => hubSettings(hub).addresses,
  });
  const forget = links.forget;
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
    return exclusive(binding.iface, async () => {
      const since = performance.now() - (lastApply.get(binding.iface) ?? Number.NEGATIVE_INFINITY);
      if (since < minInterval) await new Promise((r) => setTimeout(r, minInterval - since));
      const loaded = await loadHub(binding, networkId).catch((err: unknown): typeof RESOLVE_AGAIN => {
        if (err instanceof DomainError && err.code === "NETWORK_NOT_FOUND") return RESOLVE_AGAIN;
        throw err;
      });
      if (loaded === RESOLVE_AGAIN || bindingFor(loaded.state.network) !== binding) return RESOLVE_AGAIN;
      const { state: hub, reading } = loaded;
      const network = hub.network;
      // Checked and indexed while the interface may still be answering.
      const desired = desiredFor(networkId, hub);
      const changed: string[] = [];
      const ensureDrift: LinkDrift[] = [];
      const actual = await readInterface(binding, hub, reading, changed, ensureDrift);
      const { plan, drift } = diffInterface(
        desired.set,
        actual,
        { removeUnknown: options.removeUnknown, retired: new Set(hub.retired) },
        desired.memo,
      );
      const { writes } = isEmptyPlan(plan) ? { writes: 0 } : await port(binding).apply(plan);
      if (writes > 0) {
        lastApply.set(binding.iface, performance.now());
        deps.metrics?.interfaceWrites.inc({ interface: binding.iface }, writes);
      }
      if (writes > 0) changed.push(plan.reason);
      const link = await reconcileLink(binding, hub, {
        all: options.reportDrift || options.checkSettings === true,
        apply: true,
      });
      changed.push(...link.changed);
      link.drift.unshift(...ensureDrift);
      const onInterface = actual.peers.length + plan.add.length - plan.remove.length;
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
        note: `${binding.iface}: ${plan.reason} in ${writes} write(s); ${desired.set.peers.length} peers${driftNote}${left}${settingsNote}${forwardingNote}`,
        peers: desired.set.peers.length,
        writes,
        drift,
        settings: link.drift,
        changed,
        forwarding: link.forwarding,
      };
    });
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
      if (cached) {
        const outcome = await syncBound(networkId, cached, options);
        if (outcome !== RESOLVE_AGAIN) return outcome;
        served.delete(networkId);
      }
      const network = await deps.networks.findNetwork(networkId);
      if (!network) {
        prepared.delete(networkId);
        return gone();
      }
      const binding = bindingFor(network);
      if (!binding) {
        const { total } = await deps.nodes.listNodes({ networkId, limit: 1, offset: 0 });
        return {
          managed: false,
          note: `no WireGuard interface is managed for this network here; ${total} desired peers`,
          peers: total,
          writes: 0,
          drift: emptyDrift(),
          settings: [],
          changed: [],
          forwarding: null,
        };
      }
      served.set(networkId, binding);
      const outcome = await syncBound(networkId, binding, options);
      if (outcome !== RESOLVE_AGAIN) return outcome;
      // Renamed or deleted between the two reads: the next sync resolves it afresh.
      served.delete(networkId);
      prepared.delete(networkId);
      return gone("the network was renamed or deleted while it was being synced");
    },

    /** Compares the database with the live interface without changing anything. */
    async checkDrift(networkId: string): Promise<DriftCheck> {
      const network = await deps.networks.getNetwork(networkId);
      const binding = bindingFor(network);
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
        const { state: hub, reading } = await loadHub(binding, networkId);
        const desired = desiredFor(networkId, hub); // while the interface may still be answering
        const ensureDrift: LinkDrift[] = [];
        const report = driftReport(
          desired.set,
          await readInterface(binding, hub, reading, undefined, ensureDrift),
          desired.memo,
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

    /** Reads transfer counters and handshakes of the network's interface into monthly usage. */
    async collectUsage(networkId: string): Promise<{ managed: boolean; note: string }> {
      const network = await deps.networks.findNetwork(networkId);
      const binding = network ? bindingFor(network) : undefined;
      if (!network || !binding)
        return {
          managed: false,
          note: "no WireGuard interface is managed for this network here; no counters to read",
        };
      const peers = await exclusive(binding.iface, async () => (await port(binding).dump()).peers);
      const readings = peers.map((p) => ({
        publicKey: p.publicKey,
        rx: p.rxBytes,
        tx: p.txBytes,
        latestHandshake: p.latestHandshake,
      }));
      const recorded = await deps.usage.recordReadings(networkId, readings);
      // A node without an agent shows it is alive only by shaking hands with the hub.
      const online = await deps.liveness.recordHubHandshakes(networkId, readings);
      return {
        managed: true,
        note: `${binding.iface}: counters of ${recorded} peers recorded${online > 0 ? `, ${online} nodes seen online` : ""}`,
      };
    },

    /**
     * Creates or adopts every interface this worker owns and reconciles it now (peers, settings,
     * forwarding), one after another; for a worker's start, so a restart does not wait for the next
     * scheduled reconcile. Never throws: each binding's outcome or error is returned.
     */
    async reconcileOwned(): Promise<
      { binding: InterfaceBinding; outcome?: SyncOutcome; error?: unknown; missing?: boolean }[]
    > {
      const results = [];
      for (const binding of deps.bindings) {
        try {
          const network = await deps.networks.findNetwork(binding.network);
          if (!network) {
            results.push({ binding, missing: true });
            continue;
          }
          const outcome = await this.syncNetwork(network.id, {
            removeUnknown: false,
            reportDrift: false,
            checkSettings: true,
          });
          results.push({ binding, outcome });
        } catch (error) {
          results.push({ binding, error });
        }
      }
      return results;
    },

    /** Releases driver connections (interfaces stay up). */
    close() {
      for (const p of ports.values()) p.close?.();
      ports.clear();
    },
  };
}
