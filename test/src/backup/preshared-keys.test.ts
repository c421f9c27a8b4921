/**
 * A network's pair secret (mesh preshared keys) through re-seal and backup: after an
 * `ENCRYPTION_KEY` rotation re-seal moves it to the new key like every other sealed value, the
 * installation starts with the old key removed, and every config (pair keys included) is what it
 * was; a backup restored into another database gives the same configs.
 */
import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restoreBackup, writeBackup } from "../../../src/backup/index.js";
import { envelopeKeyId, keyIdOf } from "../../../src/crypto/index.js";
import { networks } from "../../../src/db/index.js";
import type { TestDatabase } from "../../support/db.js";
import { createTestDatabase } from "../../support/db.js";
import { json } from "../../support/http.js";
import { createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";
import { testPrefix } from "../../support/redis.js";
import { agentNode } from "../../support/rekey-support.js";

const A = randomBytes(32);
const B = randomBytes(32);

describe("the pair secret through re-seal and backup", { timeout: 120_000 }, () => {
  let database: TestDatabase;
  let target: TestDatabase;
  const prefix = testPrefix();
  const platforms: TestPlatform[] = [];
  let networkId: string;
  let nodeIds: string[];
  const configsBefore: Record<string, string> = {};

  const open = async (db: TestDatabase, keys: { current: Buffer; previous?: Buffer[] }, migrate = false) => {
    const t = await createTestPlatform({ database: db, prefix, encryptionKeys: keys, migrate });
    platforms.push(t);
    return t;
  };
  const configOf = async (t: TestPlatform, id: string) => {
    const res = await t.request(`/api/v1/nodes/${id}/config`);
    expect(res.status, await res.clone().text()).toBe(200);
    return res.text();
  };
  const closeAll = async () => {
    for (const t of platforms.reverse()) await t.platform.close();
    platforms.length = 0;
  };
  const secretEnvelope = async (t: TestPlatform) =>
    (await t.platform.database.db.select().from(networks).where(eq(networks.id, networkId)))[0]!
      .presharedKeySecretEnc!;

  beforeAll(async () => {
    database = await createTestDatabase();
    target = await createTestDatabase();
    const onA = await open(database, { current: A });
    const net = await createNetwork(onA, {
      name: "psk-reseal",
      cidr4: "10.153.0.0/24",
      topology: "mesh",
      presharedKeys: "all",
    });
    networkId = net.id;
    nodeIds = [
      (await agentNode(onA, networkId)).id,
      (await agentNode(onA, networkId)).id,
      (await createNode(onA, networkId, { name: "held" })).node.id,
    ];
    for (const id of nodeIds) {
      configsBefore[id] = await configOf(onA, id);
      // The hub's and two pairs' keys.
      expect(configsBefore[id]!.split("PresharedKey = ")).toHaveLength(4);
    }
    expect(envelopeKeyId(await secretEnvelope(onA))).toBe(keyIdOf(A));
  });
  afterAll(async () => {
    for (const t of platforms.reverse()) await t.platform.close().catch(() => {});
    await database?.drop();
    await target?.drop();
  });

  it("is re-sealed under the new key; the installation then starts without the old one, configs unchanged", async () => {
    const onB = await open(database, { current: B, previous: [A] });
    const status = (await json(await onB.request("/api/v1/admin/reseal"))).data;
    // The network's hub key and pair secret, the server-held node's private key, three nodes' hub keys.
    expect(status).toMatchObject({
      remaining: 6,
      tables: { networks: { sealed: 2, remaining: 2 }, nodes: { sealed: 4, remaining: 4 } },
    });
    const result = await onB.platform.services.reseal.run({});
    expect(result.remaining).toBe(0);
    expect(result.tables.networks).toMatchObject({ resealed: 2, sealed: 2, remaining: 0 });
    await closeAll();
    const onlyB = await open(database, { current: B }, true);
    expect(envelopeKeyId(await secretEnvelope(onlyB))).toBe(keyIdOf(B));
    for (const id of nodeIds) expect(await configOf(onlyB, id)).toBe(configsBefore[id]);
  });

  it("comes back from a backup restored into another database: the same configs", async () => {
    const source = platforms[0]!;
    const written: string[] = [];
    await writeBackup(source.platform.database.db, (l) => written.push(l));
    const text = written.join("");
    for (const config of Object.values(configsBefore))
      for (const [, key] of config.matchAll(/PresharedKey = (\S+)/g)) expect(text).not.toContain(key);
    async function* lines() {
      yield* text.trim().split("\n");
    }
    const rows = await restoreBackup(target.database.db, source.platform.secrets, lines());
    expect(rows).toMatchObject({ networks: 1, nodes: 3 });
    const restored = await open(target, { current: B }, true);
    for (const id of nodeIds) expect(await configOf(restored, id)).toBe(configsBefore[id]);
  });
});
