import { randomUUID } from "node:crypto";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import { json } from "../../../support/http.js";
import {
  asToken,
  createEnrollmentKey,
  createNetwork,
  createNode,
  eventsOfNode,
  outboxEvents,
  registerNode,
} from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("node events of refused changes", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const eventCount = async () => (await outboxEvents(t)).length;

  it("records nothing for an enrollment refused with 409, nor for other refused changes", async () => {
    const net = await createNetwork(t);
    const { publicKey } = generateKeyPair();
    const first = await createNode(t, net.id, { name: "taken", publicKey });
    const key = await createEnrollmentKey(t, net.id);
    await registerNode(t, key, { publicKey: generateKeyPair().publicKey });
    const before = await eventCount();

    const refused = [
      ["/api/v1/nodes", "POST", { networkId: net.id, name: "taken" }, 409],
      ["/api/v1/nodes", "POST", { networkId: net.id, name: "other", publicKey }, 409],
      ["/api/v1/nodes", "POST", { networkId: randomUUID(), name: "nowhere" }, 404],
      ["/api/v1/nodes", "POST", { networkId: net.id, name: "bad\n[Interface]" }, 400],
      [`/api/v1/nodes/${first.node.id}`, "PATCH", { name: "bad\nPostUp = rm -rf /" }, 400],
      [`/api/v1/nodes/${randomUUID()}`, "PATCH", { name: "ghost" }, 404],
      [`/api/v1/nodes/${randomUUID()}`, "DELETE", undefined, 404],
    ] as const;
    for (const [path, method, body, status] of refused) {
      const res = await t.request(path, { method, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}`).toBe(status);
    }
    // A one-use key already used: the registration is refused and its key use is not taken.
    const again = await t.request("/api/v1/nodes/register", {
      method: "POST",
      ...asToken(key),
      body: { publicKey: generateKeyPair().publicKey },
    });
    expect(again.status).toBe(401);

    expect(await eventCount()).toBe(before);
  });

  it("records no event when the change's transaction fails at commit: the event and the change go together", async () => {
    const net = await createNetwork(t);
    const kept = await createNode(t, net.id, { name: "kept" });
    const db = t.platform.database.db;
    // A deferred trigger refuses the change at COMMIT, after the service has written its event.
    await db.execute(sql`
      create function refuse_doomed_nodes() returns trigger language plpgsql as $$
      begin
        if new.name like 'doomed%' then raise exception 'refused at commit'; end if;
        return null;
      end $$`);
    await db.execute(sql`
      create constraint trigger refuse_doomed_nodes after insert or update on nodes
      deferrable initially deferred for each row execute function refuse_doomed_nodes()`);
    try {
      const before = await eventCount();
      const created = await t.request("/api/v1/nodes", {
        method: "POST",
        body: { networkId: net.id, name: "doomed", email: "doomed@example.com" },
      });
      expect(created.status).toBe(500);
      const renamed = await t.request(`/api/v1/nodes/${kept.node.id}`, {
        method: "PATCH",
        body: { name: "doomed-too" },
      });
      expect(renamed.status).toBe(500);

      expect(await eventCount()).toBe(before);
      const listed = await json(await t.request(`/api/v1/nodes?networkId=${net.id}`));
      expect(listed.data.items.map((n: { name: string }) => n.name)).toEqual(["kept"]);
      expect((await eventsOfNode(t, kept.node.id)).map((e) => e.type)).toEqual(["node.enrolled"]);
    } finally {
      await db.execute(sql`drop trigger refuse_doomed_nodes on nodes`);
      await db.execute(sql`drop function refuse_doomed_nodes()`);
    }
  });
});
