import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../../../src/crypto/index.js";
import { networks, nodes } from "../../../../src/db/index.js";
import { isSecretKey } from "../../../../src/events/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import {
  createEnrollmentKey,
  createNetwork,
  createNode,
  heartbeat,
  outboxEvents,
  registerNode,
} from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const MINUTE_MS = 60_000;

describe("node events carry no secret", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("after a full lifecycle, no key, token, token hash or ciphertext the test can see is in any event", async () => {
    const secrets = new Map<string, string>();
    const keep = (label: string, value: string | null | undefined) => {
      if (value) secrets.set(value, label);
    };
    const privateKeyOf = (config: string) => /^PrivateKey = (\S+)$/m.exec(config)?.[1];
    const db = t.platform.database.db;

    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.71.0.0/24", cidr6: "fd00:71::/64" });
    keep("hub private key", (await t.platform.services.configs.hubState(net.id)).hubPrivateKey);

    // Server-made keys, with and without an email; a node with its own key; two registrations.
    const laptop = await createNode(t, net.id, { name: "laptop", email: "ada@example.com" });
    const phone = await createNode(t, net.id, { name: "phone" });
    const own = await createNode(t, net.id, { name: "own", publicKey: generateKeyPair().publicKey });
    const enrollmentKey = await createEnrollmentKey(t, net.id, { reusable: true });
    keep("enrollment key", enrollmentKey);
    const edgeKey = generateKeyPair().publicKey;
    const edge = await registerNode(t, enrollmentKey, {
      name: "edge",
      email: "ops@example.com",
      publicKey: edgeKey,
    });
    const reregistered = await registerNode(
      t,
      enrollmentKey,
      { nodeId: edge.node.id, publicKey: edgeKey },
      edge.token,
    );
    const tokens = [laptop.token, phone.token, own.token, edge.token, reregistered.token];
    for (const token of tokens) {
      keep("node token", token);
      keep("node token hash", sha256Hex(token));
    }
    for (const n of [laptop, phone]) {
      const served = await (await t.request(`/api/v1/nodes/${n.node.id}/config`)).text();
      expect(privateKeyOf(served)).toBeDefined();
      expect(privateKeyOf(served)).toBe(privateKeyOf(n.config));
      keep("private key of a config", privateKeyOf(served));
    }
    for (const row of await db.select().from(nodes)) {
      keep("private key ciphertext", row.privateKeyEnc);
      keep("token hash in the database", row.tokenHash);
    }
    for (const row of await db.select().from(networks)) keep("hub key ciphertext", row.hubPrivateKeyEnc);
    keep("admin API key", t.adminKey);
    expect([...secrets.values()].filter((l) => l === "private key of a config")).toHaveLength(2);

    // Every kind of node event.
    await heartbeat(t, laptop.node.id, laptop.token);
    await heartbeat(t, edge.node.id, reregistered.token);
    const patched = await t.request(`/api/v1/nodes/${laptop.node.id}`, {
      method: "PATCH",
      body: { name: "laptop-2", publicKey: generateKeyPair().publicKey },
    });
    expect(patched.status).toBe(200);
    await db
      .update(nodes)
      .set({ lastSeenAt: new Date(Date.now() - 10 * MINUTE_MS) })
      .where(eq(nodes.id, edge.node.id));
    await t.platform.services.liveness.markStaleNodesOffline(new Date(Date.now() - 3 * MINUTE_MS));
    expect((await t.request(`/api/v1/nodes/${phone.node.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await t.request("/api/v1/nodes?email=ops@example.com", { method: "DELETE" })).status).toBe(200);

    const events = await outboxEvents(t);
    expect(new Set(events.map((e) => e.type))).toEqual(
      new Set(["node.enrolled", "node.updated", "node.removed", "node.online", "node.offline"]),
    );
    // The rows as Postgres holds them (not only as drizzle reads them back).
    const stored = JSON.stringify(await db.execute(sql`select type, data::text, source from events`));
    for (const [secret, label] of secrets) {
      expect(stored.includes(secret), `${label} is in an event`).toBe(false);
    }
    // The data was safe as built: nothing in it is even named like a secret.
    const keys: string[] = [];
    const walk = (v: unknown): void => {
      if (v && typeof v === "object")
        for (const [k, inner] of Object.entries(v)) {
          keys.push(k);
          walk(inner);
        }
    };
    for (const e of events) walk(e.data);
    expect(keys.filter(isSecretKey)).toEqual([]);
    // Nor did any of it reach a log line.
    for (const [secret, label] of secrets) {
      if (label.startsWith("private key") || label === "node token" || label === "enrollment key")
        expect(t.logs.text.includes(secret), `${label} is in the log`).toBe(false);
    }
  });
});
