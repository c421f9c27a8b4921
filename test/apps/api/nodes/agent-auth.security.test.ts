/**
 * The agent's endpoints (heartbeat, config read) check the node token in the statement that stores
 * the beat or reads (and audits) the config, not in a lookup before it. Whatever token is not the
 * node's own answers as the lookup did (401, or 404 for another node's) and changes nothing: no
 * last-seen bump, no metrics, no audit row. Also across API processes, with no memory of tokens.
 */
import { count, desc, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateNodeToken } from "../../../../src/auth/index.js";
import { auditLog, nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/mesh/index.js";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import {
  asToken,
  createEnrollmentKey,
  createNetwork,
  createNode,
  heartbeat,
  registerNode,
} from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

const INVALID = "the API key or token is not valid (unknown, revoked or expired)";

describe("node tokens checked by the agent endpoints' own statements", () => {
  let t: TestPlatform;
  /** A second API process on the same database: its own memory, no shared state but the rows. */
  let other: TestPlatform;
  let netId: string;
  beforeAll(async () => {
    t = await createTestPlatform();
    other = await createTestPlatform({
      database: t.db,
      encryptionKeys: { current: t.encryptionKey, previous: [] },
    });
    netId = (await createNetwork(t)).id;
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  const beatBody = (cpu: number) => ({ metrics: { cpu }, configVersion: 1, agentVersion: "9.9.9" });
  const beat = (p: TestPlatform, id: string, token: string, body: unknown = beatBody(99)) =>
    p.request(`/api/v1/nodes/${id}/heartbeat`, { method: "POST", ...asToken(token), body });
  const readConfig = (p: TestPlatform, id: string, token: string, format = "conf") =>
    p.request(`/api/v1/nodes/${id}/config?format=${format}`, asToken(token));
  const nodeRow = async (id: string) =>
    (await t.platform.database.db.select().from(nodes).where(eq(nodes.id, id)))[0];
  const audits = async () => (await t.platform.database.db.select({ n: count() }).from(auditLog))[0]!.n;

  async function expectRefused(res: Response, status: 401 | 404, id: string) {
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(status);
    if (status === 401) expect(body).toMatchObject({ code: "UNAUTHENTICATED", detail: INVALID });
    else expect(body).toMatchObject({ code: "NODE_NOT_FOUND", detail: `node ${id} does not exist` });
  }

  it("refuses a heartbeat with any token but the node's own, in the steady and the full path, changing nothing", async () => {
    const victim = await createNode(t, netId);
    const neighbour = await createNode(t, netId);
    // Two beats: the second takes the steady path (one UPDATE), which a wrong token must not pass.
    await heartbeat(t, victim.node.id, victim.token, beatBody(1));
    expect(
      (
        await t
          .request(`/api/v1/nodes/${victim.node.id}/heartbeat`, {
            method: "POST",
            ...asToken(victim.token),
            body: beatBody(2),
          })
          .then(json)
      ).success,
    ).toBe(true);
    const before = await nodeRow(victim.node.id);
    expect(before?.metrics).toEqual({ cpu: 2 });
    const auditsBefore = await audits();
    // `t` remembers the node's last beat (steady path); `other` never saw one (the locked full path).
    for (const p of [t, other]) {
      await expectRefused(await beat(p, victim.node.id, "wsn_forged"), 401, victim.node.id);
      await expectRefused(await beat(p, victim.node.id, generateNodeToken()), 401, victim.node.id);
      await expectRefused(await beat(p, victim.node.id, neighbour.token), 404, victim.node.id);
      // Authentication answers before validation, as the lookup did: no field list for a stranger.
      await expectRefused(
        await beat(p, victim.node.id, generateNodeToken(), { metrics: "x" }),
        401,
        victim.node.id,
      );
      await expectRefused(await beat(p, "not-a-uuid", generateNodeToken()), 401, "not-a-uuid");
      await expectRefused(await beat(p, "not-a-uuid", neighbour.token), 404, "not-a-uuid");
    }
    expect(await nodeRow(victim.node.id)).toEqual(before);
    expect(await audits()).toBe(auditsBefore);
    // The neighbour's own beats still land, and the victim's.
    await heartbeat(t, neighbour.node.id, neighbour.token, beatBody(3));
    await heartbeat(other, victim.node.id, victim.token, beatBody(4));
    expect((await nodeRow(victim.node.id))?.metrics).toEqual({ cpu: 4 });
  });

  it("refuses a config read with any token but the node's own: nothing read, nothing audited", async () => {
    const victim = await createNode(t, netId);
    const neighbour = await createNode(t, netId);
    const own = await readConfig(t, victim.node.id, victim.token);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain("PrivateKey = ");
    const before = await nodeRow(victim.node.id);
    const auditsBefore = await audits();
    for (const p of [t, other]) {
      for (const format of ["conf", "qr"]) {
        await expectRefused(await readConfig(p, victim.node.id, "wsn_forged", format), 401, victim.node.id);
        await expectRefused(
          await readConfig(p, victim.node.id, generateNodeToken(), format),
          401,
          victim.node.id,
        );
        await expectRefused(
          await readConfig(p, victim.node.id, neighbour.token, format),
          404,
          victim.node.id,
        );
      }
      await expectRefused(
        await readConfig(p, victim.node.id, generateNodeToken(), "zip"),
        401,
        victim.node.id,
      );
    }
    expect(await nodeRow(victim.node.id)).toEqual(before);
    expect(await audits()).toBe(auditsBefore);
    // Each of the node's own reads is audited once, under its own name.
    expect((await readConfig(other, victim.node.id, victim.token, "qr")).status).toBe(200);
    expect(await audits()).toBe(auditsBefore + 1);
    const [last] = await t.platform.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.entityId, victim.node.id))
      .orderBy(desc(auditLog.id));
    expect(last).toMatchObject({ actor: `node:${victim.node.id}`, action: "node.private-key-read" });
  });

  it("rejects a rotated token at once in every API process that served it, and takes the new one", async () => {
    const key = await createEnrollmentKey(t, netId, { reusable: true });
    const { publicKey } = generateKeyPair();
    const first = await registerNode(t, key, { name: "rotating", publicKey });
    const id = first.node.id as string;
    // Both processes have served the old token, each in its steady path.
    for (const p of [t, other]) {
      await heartbeat(p, id, first.token, beatBody(1));
      await heartbeat(p, id, first.token, beatBody(1));
      expect((await readConfig(p, id, first.token)).status).toBe(200);
    }
    const again: Json = await registerNode(t, key, { nodeId: id, publicKey }, first.token);
    expect(again.token).not.toBe(first.token);
    const before = await nodeRow(id);
    const auditsBefore = await audits();
    for (const p of [t, other]) {
      await expectRefused(await beat(p, id, first.token), 401, id);
      await expectRefused(await readConfig(p, id, first.token), 401, id);
    }
    expect(await nodeRow(id)).toEqual(before);
    expect(await audits()).toBe(auditsBefore);
    for (const p of [t, other]) {
      await heartbeat(p, id, again.token, beatBody(5));
      expect((await readConfig(p, id, again.token)).status).toBe(200);
    }
  });

  it("rejects a deleted node's token: 401 on both endpoints, in both processes", async () => {
    const gone = await createNode(t, netId);
    for (const p of [t, other]) {
      await heartbeat(p, gone.node.id, gone.token, beatBody(1));
      await heartbeat(p, gone.node.id, gone.token, beatBody(1));
      expect((await readConfig(p, gone.node.id, gone.token)).status).toBe(200);
    }
    expect((await t.request(`/api/v1/nodes/${gone.node.id}`, { method: "DELETE" })).status).toBe(200);
    const auditsBefore = await audits();
    for (const p of [t, other]) {
      await expectRefused(await beat(p, gone.node.id, gone.token), 401, gone.node.id);
      await expectRefused(await readConfig(p, gone.node.id, gone.token), 401, gone.node.id);
    }
    expect(await nodeRow(gone.node.id)).toBeUndefined();
    expect(await audits()).toBe(auditsBefore);
  });
});
