/**
 * Who may rotate a hub key or read the rotation (admins only), and that neither the hub's private
 * key nor its next one is in any answer, log line or audit row.
 */
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditLog, networks } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { createApiKey } from "../../../support/auth.js";
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

describe("hub key rotation security", () => {
  let t: TestPlatform;

  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  it("lets only an admin rotate or read the rotation: 401 anonymous, 403 read key and node token; nothing changes", async () => {
    const net = await createNetwork(t);
    const { token } = await createNode(t, net.id);
    const readKey = (await createApiKey(t, ["read"])).key;
    const rotate = `/api/v1/networks/${net.id}/rotate-hub-key`;
    const read = `/api/v1/networks/${net.id}/hub-key-rotation`;
    for (const [path, method] of [
      [rotate, "POST"],
      [`${rotate}?now=true`, "POST"],
      [read, "GET"],
    ] as const) {
      expect((await t.request(path, { method, key: null })).status).toBe(401);
      expect((await t.request(path, { method, key: readKey })).status).toBe(403);
      expect((await t.request(path, { method, ...asToken(token) })).status).toBe(403);
    }
    const view = (await json(await t.request(`/api/v1/networks/${net.id}`))).data;
    expect(view).toMatchObject({ hubPublicKey: net.hubPublicKey, nextHubPublicKey: null });
    const audits = await t.db.database.db.select().from(auditLog).where(eq(auditLog.entityId, net.id));
    expect(audits.filter((a) => a.action.startsWith("network.hub-key"))).toHaveLength(0);
  });

  it("never shows the hub's private key or its next one: answers, logs and audit rows", async () => {
    const net = await createNetwork(t);
    const key = await createEnrollmentKey(t, net.id);
    const agent = await registerNode(t, key, { publicKey: generateKeyPair().publicKey });
    const first = await t.request(`/api/v1/nodes/${agent.node.id}/config`, asToken(agent.token));
    await heartbeat(t, agent.node.id, agent.token, {
      configVersion: Number(first.headers.get("x-config-version")),
    });
    const held = await createNode(t, net.id);

    const answers: string[] = [];
    const keep = async (res: Response) => {
      const text = await res.text();
      answers.push(text);
      return text;
    };
    const started = await t.request(`/api/v1/networks/${net.id}/rotate-hub-key`, { method: "POST" });
    expect(started.status).toBe(202);
    await keep(started);
    const [row] = await t.db.database.db.select().from(networks).where(eq(networks.id, net.id));
    const secrets = [
      t.platform.secrets.open(row!.hubPrivateKeyEnc, `network:${net.id}`),
      t.platform.secrets.open(row!.hubNextPrivateKeyEnc!, `network:${net.id}`),
    ];
    expect(secrets[0]).not.toBe(secrets[1]);
    expect(row!.hubNextPrivateKeyEnc).not.toContain(secrets[1]);

    await keep(await t.request(`/api/v1/networks/${net.id}/hub-key-rotation`));
    await keep(await t.request(`/api/v1/networks/${net.id}`));
    await keep(await t.request("/api/v1/networks"));
    await keep(await t.request(`/api/v1/nodes/${agent.node.id}/config`, asToken(agent.token)));
    await keep(await t.request(`/api/v1/nodes/${held.node.id}/config`));
    const again = await t.request(`/api/v1/networks/${net.id}/rotate-hub-key`, { method: "POST" });
    expect(again.status).toBe(409);
    await keep(again);
    const switched = await t.request(`/api/v1/networks/${net.id}/rotate-hub-key?now=true`, {
      method: "POST",
    });
    expect(switched.status).toBe(200);
    await keep(switched);
    await keep(await t.request(`/api/v1/networks/${net.id}/hub-key-rotation`));

    const audits = JSON.stringify(await t.db.database.db.select().from(auditLog));
    for (const secret of secrets) {
      for (const text of answers) expect(text).not.toContain(secret);
      expect(t.logs.text).not.toContain(secret);
      expect(audits).not.toContain(secret);
    }
  });
});
