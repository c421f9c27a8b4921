/**
 * Hub hosts and network leases in Postgres. Every lease change is one conditional statement, judged
 * by the database's clock (`now()`), so two hosts racing for one network cannot both win.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { hubHosts, networkLeases, networks } from "../db/index.js";

export interface LeaseRow {
  networkId: string;
  hubId: string;
  epoch: number;
  expiresAt: Date;
  /** True while `expiresAt` is ahead of the database's clock. */
  live: boolean;
}

const seconds = (n: number) => sql`make_interval(secs => ${n})`;

/**
 * Takes the network's lease for `hubId` when it is free, expired, or already `hubId`'s (a restarted
 * host): the epoch becomes 1 on a first acquire and grows by one on every other. Returns the new
 * epoch, or undefined when another host holds a live lease.
 */
export async function acquireLease(
  exec: Executor,
  networkId: string,
  hubId: string,
  ttlSeconds: number,
): Promise<number | undefined> {
  const [row] = await exec
    .insert(networkLeases)
    .values({ networkId, hubId, epoch: 1, expiresAt: sql`now() + ${seconds(ttlSeconds)}` })
    .onConflictDoUpdate({
      target: networkLeases.networkId,
      set: {
        hubId,
        epoch: sql`${networkLeases.epoch} + 1`,
        expiresAt: sql`now() + ${seconds(ttlSeconds)}`,
        acquiredAt: sql`now()`,
      },
      setWhere: sql`${networkLeases.expiresAt} <= now() or ${networkLeases.hubId} = ${hubId}`,
    })
    .returning({ epoch: networkLeases.epoch });
  return row?.epoch;
}

/**
 * Extends the lease `hubId` holds at `epoch`. Returns false, changing nothing, when the lease has
 * another holder or epoch (it was taken over) or is gone.
 */
export async function renewLease(
  exec: Executor,
  networkId: string,
  hubId: string,
  epoch: number,
  ttlSeconds: number,
): Promise<boolean> {
  const rows = await exec
    .update(networkLeases)
    .set({ expiresAt: sql`now() + ${seconds(ttlSeconds)}` })
    .where(
      and(
        eq(networkLeases.networkId, networkId),
        eq(networkLeases.hubId, hubId),
        eq(networkLeases.epoch, epoch),
      ),
    )
    .returning({ epoch: networkLeases.epoch });
  return rows.length === 1;
}

/** Ends the lease `hubId` holds at `epoch` now (a clean stop), so a standby need not wait it out. */
export async function releaseLease(exec: Executor, networkId: string, hubId: string, epoch: number) {
  await exec
    .update(networkLeases)
    .set({ expiresAt: sql`now()` })
    .where(
      and(
        eq(networkLeases.networkId, networkId),
        eq(networkLeases.hubId, hubId),
        eq(networkLeases.epoch, epoch),
      ),
    );
}

/** The leases of `networkIds` (all when omitted), each with whether it is live now. */
export async function readLeases(exec: Executor, networkIds?: readonly string[]): Promise<LeaseRow[]> {
  if (networkIds && networkIds.length === 0) return [];
  return exec
    .select({
      networkId: networkLeases.networkId,
      hubId: networkLeases.hubId,
      epoch: networkLeases.epoch,
      expiresAt: networkLeases.expiresAt,
      live: sql<boolean>`${networkLeases.expiresAt} > now()`,
    })
    .from(networkLeases)
    .where(networkIds ? inArray(networkLeases.networkId, [...networkIds]) : undefined);
}

/** Records that `id` is alive and which networks it declares; `startedAt` only on its first beat. */
export async function heartbeat(
  exec: Executor,
  host: { id: string; networks: readonly string[]; version: string; startedAt: Date },
): Promise<void> {
  await exec
    .insert(hubHosts)
    .values({
      id: host.id,
      networks: [...host.networks],
      version: host.version,
      startedAt: host.startedAt,
      heartbeatAt: sql`now()`,
    })
    .onConflictDoUpdate({
      target: hubHosts.id,
      set: {
        networks: [...host.networks],
        version: host.version,
        startedAt: host.startedAt,
        heartbeatAt: sql`now()`,
      },
    });
}

export interface HubHostRow {
  id: string;
  networks: string[];
  heartbeatAt: Date;
  startedAt: Date;
  version: string;
  /** True when the host beat within the liveness window asked for. */
  live: boolean;
}

/** Every hub host, each with whether it beat within `liveSeconds`. */
export async function listHubHosts(exec: Executor, liveSeconds: number): Promise<HubHostRow[]> {
  return exec
    .select({
      id: hubHosts.id,
      networks: hubHosts.networks,
      heartbeatAt: hubHosts.heartbeatAt,
      startedAt: hubHosts.startedAt,
      version: hubHosts.version,
      live: sql<boolean>`${hubHosts.heartbeatAt} > now() - ${seconds(liveSeconds)}`,
    })
    .from(hubHosts)
    .orderBy(hubHosts.id);
}

/** The networks named (by id or name), with their standby host. */
export async function networksNamed(exec: Executor, refs: readonly string[]) {
  if (refs.length === 0) return [];
  const uuids = refs.filter((r) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(r));
  return exec
    .select({ id: networks.id, name: networks.name, standbyHubId: networks.standbyHubId })
    .from(networks)
    .where(
      uuids.length > 0
        ? sql`${inArray(networks.name, [...refs])} or ${inArray(networks.id, uuids)}`
        : inArray(networks.name, [...refs]),
    );
}

/** Every network with its name and standby host, for reports. */
export async function allNetworks(exec: Executor) {
  return exec
    .select({ id: networks.id, name: networks.name, standbyHubId: networks.standbyHubId })
    .from(networks)
    .orderBy(networks.name);
}
