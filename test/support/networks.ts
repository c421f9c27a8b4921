/** Network rows for tests that need something for a sync run to walk. Inserted in bulk, straight into the table. */

import type { SecretBox } from "../../src/crypto/index.js";
import type { Db } from "../../src/db/index.js";
import { networks } from "../../src/db/index.js";

/** A syntactically valid WireGuard key (base64 of 32 bytes) that is different for each `seed`. */
function fakeKey(seed: number): string {
  const bytes = Buffer.alloc(32);
  bytes.writeUInt32BE(seed);
  return bytes.toString("base64");
}

/**
 * Inserts `count` networks named `<namePrefix>-<n>` with distinct /24 ranges under `10.0.0.0/8` (up to
 * 65,536 of them). Returns their ids in insertion order. Their hub keys cannot be opened; with
 * `secrets` they are at least sealed under its key, as a process starting on this database demands
 * of every sealed value.
 */
export async function insertNetworks(
  db: Db,
  count: number,
  namePrefix = "net",
  secrets?: SecretBox,
): Promise<string[]> {
  const unopenable = secrets ? secrets.seal("not a hub key", "no network") : "v1.test.not-a-real-envelope";
  const ids: string[] = [];
  const BATCH = 1_000;
  for (let start = 0; start < count; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + BATCH); i++) {
      const [a, b] = [i >> 8, i & 255];
      rows.push({
        name: `${namePrefix}-${String(i).padStart(5, "0")}`,
        cidr4: `10.${a}.${b}.0/24`,
        hubIp4: `10.${a}.${b}.1`,
        hubPublicKey: fakeKey(i),
        hubPrivateKeyEnc: unopenable,
      });
    }
    const inserted = await db.insert(networks).values(rows).returning({ id: networks.id });
    ids.push(...inserted.map((r) => r.id));
  }
  return ids;
}
