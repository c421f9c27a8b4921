/**
 * One hub host's side of the leases: it beats in `hub_hosts`, acquires the lease of each network it
 * declares when the lease is free or expired, renews what it holds every third of the lease time,
 * and fences itself: it applies to a network's interface only until its own deadline (its clock at
 * the start of the last successful renewal, plus the lease time, minus a margin), and when a renewal
 * fails or that deadline passes it stops applying and clears the interface's peers at once.
 */

import { recordAudit } from "../audit/index.js";
import type { Db } from "../db/index.js";
import { transaction } from "../db/index.js";
import { emitEvent } from "../events/index.js";
import type { Logger } from "../logger.js";
import * as repo from "./hubs.repo.js";

const SECOND_MS = 1_000;

export interface HubNetwork {
  id: string;
  name: string;
  /** The `WG_INTERFACES` entry (network name or id) that names it. */
  ref: string;
  standbyHubId: string | null;
}

/** What the keeper asks of the data plane. None of these may throw into the keeper. */
export interface LeaseActions {
  /** This host now holds the network: bring its interface up with the database's peers. */
  serve(network: HubNetwork, epoch: number): Promise<void>;
  /** This host must not carry the network's peers (lease lost, or another host serves it). */
  clear(network: HubNetwork, why: "lost" | "standby" | "stopping"): Promise<void>;
}

/** Another live hub host already serves a network of this host as its primary. */
export class HubConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HubConflictError";
  }
}

export interface LeaseKeeperOptions {
  db: Db;
  hubId: string;
  /** The network names or ids of `WG_INTERFACES`. */
  refs: readonly string[];
  ttlSeconds: number;
  version: string;
  logger: Logger;
  actions: LeaseActions;
  /** The local clock in ms (tests replace it). */
  now?: () => number;
}

export type LeaseKeeper = ReturnType<typeof createLeaseKeeper>;

interface Held {
  epoch: number;
  /** Local time after which this host must not apply any more. */
  deadline: number;
}

/** The fencing margin: a fifth of the lease time, at least half a second. */
export function fenceMarginMs(ttlSeconds: number): number {
  return Math.max(500, (ttlSeconds * SECOND_MS) / 5);
}

export function createLeaseKeeper(options: LeaseKeeperOptions) {
  const { db, hubId, ttlSeconds } = options;
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: "hubs", hubId });
  const ttlMs = ttlSeconds * SECOND_MS;
  const margin = fenceMarginMs(ttlSeconds);
  const startedAt = new Date();
  const held = new Map<string, Held>();
  /** Networks currently kept as standby (cleared), so `clear` runs once per change. */
  const standing = new Set<string>();
  let networks: HubNetwork[] = [];
  let timer: NodeJS.Timeout | undefined;
  let fenceTimer: NodeJS.Timeout | undefined;
  let running = false;
  let ticking: Promise<void> | undefined;
  /**
   * Data-plane work in flight, one chain per network so a network's serve and clear keep their
   * order. IMPORTANT: never awaited by a round: bringing an interface up can take seconds, and a
   * round that waited for it would renew late and lose the lease it just took.
   */
  const work = new Map<string, Promise<void>>();
  function enqueueWork(networkId: string, fn: () => Promise<void>): Promise<void> {
    const next = (work.get(networkId) ?? Promise.resolve()).then(fn).catch(() => {});
    work.set(networkId, next);
    void next.finally(() => {
      if (work.get(networkId) === next) work.delete(networkId);
    });
    return next;
  }

  /** `WG_INTERFACES` refs already reported as naming no network (each is warned about once). */
  const unresolved = new Set<string>();

  async function resolve(): Promise<HubNetwork[]> {
    const rows = await repo.networksNamed(db, options.refs);
    return options.refs.flatMap((ref) => {
      const row = rows.find((r) => r.id === ref || r.name === ref);
      if (row) {
        unresolved.delete(ref);
        return [{ ...row, ref }];
      }
      if (!unresolved.has(ref)) {
        unresolved.add(ref);
        log.warn(
          { ref, setting: "WG_INTERFACES" },
          "declared network not found; serving nothing for it until it exists",
        );
      }
      return [];
    });
  }

  /** Resolves the declared networks again and records this host's heartbeat with them. */
  async function beat(): Promise<void> {
    networks = await resolve();
    await repo.heartbeat(db, {
      id: hubId,
      networks: networks.map((n) => n.id),
      version: options.version,
      startedAt,
    });
  }

  function holds(networkId: string): boolean {
    const h = held.get(networkId);
    return h !== undefined && now() < h.deadline;
  }

  /**
   * Stops applying to the network and clears its interface. With `keepPeers` (the deadline passed
   * unrenewed and no standby is named, so nobody can take the network over) the peers stay: a
   * Postgres outage then does not cut every tunnel, and the next renewal resumes applying.
   */
  function lose(network: HubNetwork, why: string, keepPeers = false): void {
    if (!held.delete(network.id)) return;
    if (keepPeers) {
      log.warn({ network: network.name, why }, "network lease not renewed; applying nothing until it is");
      return;
    }
    standing.add(network.id);
    log.warn({ network: network.name, why }, "network lease lost; stopped serving it");
    void enqueueWork(network.id, () => options.actions.clear(network, "lost"));
  }

  /** Fences networks whose deadline passed without a renewal. */
  async function fence(): Promise<void> {
    for (const network of networks) {
      const h = held.get(network.id);
      if (h && now() >= h.deadline)
        lose(network, "no renewal before the deadline", network.standbyHubId === null);
    }
  }

  async function acquire(network: HubNetwork, live: repo.HubHostRow[]): Promise<void> {
    if (network.standbyHubId === hubId) {
      // A standby does not take a lease that was never held while its primary is alive.
      const [lease] = await repo.readLeases(db, [network.id]);
      const primaryAlive = live.some((h) => h.id !== hubId && h.networks.includes(network.id));
      if (!lease && primaryAlive) return;
    }
    const start = now();
    const taken = await transaction(db, async (tx) => {
      const [previous] = await repo.readLeases(tx, [network.id]);
      const epoch = await repo.acquireLease(tx, network.id, hubId, ttlSeconds);
      if (epoch === undefined) return undefined;
      if (previous && previous.hubId !== hubId) {
        const data = {
          network: { id: network.id, name: network.name },
          from: previous.hubId,
          to: hubId,
          epoch,
          expiredAt: previous.expiresAt.toISOString(),
        };
        await emitEvent(tx, { type: "hub.takeover", data });
        await recordAudit(tx, {
          actor: `hub:${hubId}`,
          action: "hub.takeover",
          entityType: "network",
          entityId: network.id,
          details: data,
        });
      }
      return { epoch, previous };
    });
    if (!taken) {
      if (!standing.has(network.id)) {
        standing.add(network.id);
        void enqueueWork(network.id, () => options.actions.clear(network, "standby"));
      }
      return;
    }
    held.set(network.id, { epoch: taken.epoch, deadline: start + ttlMs - margin });
    standing.delete(network.id);
    log.info(
      { network: network.name, epoch: taken.epoch, from: taken.previous?.hubId ?? null },
      "network lease acquired",
    );
    void enqueueWork(network.id, () => options.actions.serve(network, taken.epoch));
  }

  async function renew(network: HubNetwork, h: Held): Promise<void> {
    const start = now();
    let renewed: boolean;
    try {
      renewed = await repo.renewLease(db, network.id, hubId, h.epoch, ttlSeconds);
    } catch (err) {
      // The deadline still stands: the fence clears the network when it passes.
      log.warn({ network: network.name, err }, "network lease renewal failed");
      return;
    }
    if (!renewed) {
      lose(network, "another hub host took the lease over");
      return;
    }
    if (held.get(network.id) === h) h.deadline = start + ttlMs - margin;
  }

  /** One round: renew what is held first (the fence waits for nobody), then beat and acquire the rest. */
  async function tick(): Promise<void> {
    await fence();
    for (const network of networks) {
      const h = held.get(network.id);
      if (!h) continue;
      try {
        await renew(network, h);
      } catch (err) {
        log.warn({ network: network.name, err }, "network lease round failed");
      }
    }
    await beat();
    const live = (await repo.listHubHosts(db, ttlSeconds)).filter((h) => h.live);
    for (const network of networks) {
      if (held.has(network.id)) continue;
      try {
        await acquire(network, live);
      } catch (err) {
        log.warn({ network: network.name, err }, "network lease round failed");
      }
    }
  }

  function schedule(): void {
    if (!running) return;
    timer = setTimeout(() => {
      ticking = tick()
        .catch((err: unknown) => log.warn({ err }, "hub heartbeat failed"))
        .finally(schedule);
    }, ttlMs / 3);
  }

  return {
    hubId,
    /** True while this host holds the network's lease by its own clock: only then may it apply. */
    holds,
    /** The epoch of the lease held on the network, if any. */
    epochOf: (networkId: string) => held.get(networkId)?.epoch,
    /** The networks this host declares, as last resolved. */
    networks: () => networks,
    tick,
    fence,
    /** Resolves when the data-plane work started so far (serve, clear) has finished. */
    async settled(): Promise<void> {
      while (work.size > 0) await Promise.all([...work.values()]);
    },

    /**
     * Beats once and refuses to start when another live hub host, started earlier, serves one of this
     * host's networks as primary and neither is that network's standby. Throws HubConflictError.
     */
    async checkConflicts(): Promise<void> {
      await beat();
      const others = (await repo.listHubHosts(db, ttlSeconds)).filter((h) => h.live && h.id !== hubId);
      for (const network of networks) {
        if (network.standbyHubId === hubId) continue;
        const rival = others.find(
          (h) =>
            h.networks.includes(network.id) &&
            network.standbyHubId !== h.id &&
            (h.startedAt < startedAt || (h.startedAt.getTime() === startedAt.getTime() && h.id < hubId)),
        );
        if (rival) {
          throw new HubConflictError(
            `hub host ${rival.id} already serves network ${network.name} as its primary (last heartbeat ${rival.heartbeatAt.toISOString()}); ` +
              `this host (${hubId}) refuses to start. Name one of them the network's standby (PATCH /api/v1/networks/${network.id} with {"standbyHubId": "${hubId}"}) or remove ${network.ref} from WG_INTERFACES here`,
          );
        }
      }
    },

    /** Runs the first round now, then one every third of the lease time, and the fence in between. */
    async start(): Promise<void> {
      running = true;
      await tick().catch((err: unknown) => log.warn({ err }, "hub heartbeat failed"));
      schedule();
      fenceTimer = setInterval(() => void fence().catch(() => {}), Math.min(500, ttlMs / 10));
    },

    /**
     * Stops the rounds. A network with a standby is cleared and its lease ended now, so the standby
     * takes over at once; others keep their peers (the interface outlives the process) and their lease
     * until it expires, so a restarted host picks it up again.
     */
    async stop(): Promise<void> {
      running = false;
      clearTimeout(timer);
      clearInterval(fenceTimer);
      await ticking;
      await Promise.all([...work.values()]);
      for (const network of networks) {
        const h = held.get(network.id);
        if (!h || !network.standbyHubId) continue;
        held.delete(network.id);
        await enqueueWork(network.id, () => options.actions.clear(network, "stopping"));
        await repo.releaseLease(db, network.id, hubId, h.epoch).catch(() => {});
      }
    },
  };
}
