/** Nodes in bulk for stats tests and benchmarks, inserted straight into the table with known fields. */
import type { Db, NodeStatus } from "../../src/db/index.js";
import { nodes } from "../../src/db/index.js";

export interface FleetNode {
  name: string;
  status?: NodeStatus;
  /** Seconds before `now` of the node's last handshake; none when left out. */
  handshakeAgeSeconds?: number;
  configVersion?: number;
  configPushedVersion?: number;
  /** The config version the node's agent last reported applying; none when left out. */
  appliedConfigVersion?: number;
  email?: string;
}

/** A WireGuard-shaped public key (base64 of 32 bytes) distinct for each `seed`. */
export function fleetKey(seed: number): string {
  const bytes = Buffer.alloc(32, 7);
  bytes.writeUInt32BE(seed);
  return bytes.toString("base64");
}

/**
 * Inserts `list` into a network, node `i` at `firstAddress(i)` with key `fleetKey(seed + i)`, in
 * batches of 1,000. Handshake ages are counted back from `now`. Returns the node ids in list order.
 */
export async function insertFleetNodes(
  db: Db,
  networkId: string,
  list: readonly FleetNode[],
  options: { firstAddress: (i: number) => string; seed: number; now?: Date },
): Promise<string[]> {
  const now = options.now ?? new Date();
  const ids: string[] = [];
  for (let start = 0; start < list.length; start += 1_000) {
    const rows = list.slice(start, start + 1_000).map((n, j) => {
      const i = start + j;
      return {
        networkId,
        name: n.name,
        publicKey: fleetKey(options.seed + i),
        ip4: options.firstAddress(i),
        status: n.status ?? "pending",
        email: n.email ?? null,
        lastHandshakeAt:
          n.handshakeAgeSeconds === undefined
            ? null
            : new Date(now.getTime() - n.handshakeAgeSeconds * 1_000),
        configVersion: n.configVersion ?? 1,
        configPushedVersion: n.configPushedVersion ?? n.configVersion ?? 1,
        appliedConfigVersion: n.appliedConfigVersion ?? null,
      };
    });
    const inserted = await db.insert(nodes).values(rows).returning({ id: nodes.id });
    ids.push(...inserted.map((r) => r.id));
  }
  return ids;
}
