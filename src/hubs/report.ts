import type { Db } from "../db/index.js";
import { allNetworks, listHubHosts, readLeases } from "./hubs.repo.js";

export type NetworkHubState =
  /** A live lease: `hubId` serves it. */
  | "serving"
  /** Its holder stopped renewing, or hosts declare it and none is alive: nobody serves it. */
  | "owner-absent"
  /** No hub host declares it (no `WG_INTERFACES` entry anywhere). */
  | "unassigned";

export interface NetworkHub {
  networkId: string;
  name: string;
  state: NetworkHubState;
  /** The lease holder (also when it expired), else null. */
  hubId: string | null;
  epoch: number | null;
  standbyHubId: string | null;
}

export interface HubsReport {
  hosts: { id: string; live: boolean; networks: string[]; heartbeatAt: string; version: string }[];
  networks: NetworkHub[];
  /** Names of the networks whose owner is absent. */
  absent: string[];
}

/** Who serves each network, and which hub hosts are alive (heartbeat within `ttlSeconds`). */
export async function hubsReport(db: Db, ttlSeconds: number): Promise<HubsReport> {
  const [hosts, leases, nets] = await Promise.all([
    listHubHosts(db, ttlSeconds),
    readLeases(db),
    allNetworks(db),
  ]);
  const leaseOf = new Map(leases.map((l) => [l.networkId, l]));
  const networks = nets.map((n): NetworkHub => {
    const lease = leaseOf.get(n.id);
    const declared = hosts.some((h) => h.networks.includes(n.id));
    const state: NetworkHubState = lease?.live
      ? "serving"
      : lease || declared
        ? "owner-absent"
        : "unassigned";
    return {
      networkId: n.id,
      name: n.name,
      state,
      hubId: lease?.hubId ?? null,
      epoch: lease?.epoch ?? null,
      standbyHubId: n.standbyHubId,
    };
  });
  return {
    hosts: hosts.map((h) => ({
      id: h.id,
      live: h.live,
      networks: h.networks,
      heartbeatAt: h.heartbeatAt.toISOString(),
      version: h.version,
    })),
    networks,
    absent: networks.filter((n) => n.state === "owner-absent").map((n) => n.name),
  };
}

/** How many networks are in each state: what `/health/ready` tells a caller who is not an admin. */
export interface HubCounts {
  serving: number;
  absent: number;
  unassigned: number;
}

/** The counts of `report`, naming no network and no host. */
export function hubCounts(report: HubsReport): HubCounts {
  const count = (state: NetworkHubState) => report.networks.filter((n) => n.state === state).length;
  return { serving: count("serving"), absent: count("owner-absent"), unassigned: count("unassigned") };
}
