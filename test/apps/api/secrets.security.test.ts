/**
 * Who may see each secret, stated as a table and checked against every kind of caller: anonymous, a
 * read key, a user's session, another node's token, the node itself and an admin.
 *
 * - A node's server-held private key: its config (text or QR), to an admin or the node itself only.
 * - Node tokens, enrollment keys, API keys and webhook secrets: in the answer that creates them, to
 *   the admin who did, and never again to anyone.
 * - Secret settings and the hub's private key: never in any answer.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bearer, createApiKey, createUser } from "../../support/auth.js";
import type { Json } from "../../support/http.js";
import { json } from "../../support/http.js";
import { createEnrollmentKey, createNetwork, createNode } from "../../support/mesh.js";
import type { TestPlatform } from "../../support/platform.js";
import { createTestPlatform } from "../../support/platform.js";

const CALLERS = ["anonymous", "read key", "user session", "other node", "the node", "admin"] as const;
type Caller = (typeof CALLERS)[number];

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe("who sees which secret", () => {
  let t: TestPlatform;
  let node: Json;
  let secrets: Map<string, string>;
  let credentials: Record<Caller, { key?: string | null; headers?: Record<string, string> }>;

  beforeAll(async () => {
    t = await createTestPlatform();
    await createUser(t, "admin@example.test");
    const user = await createUser(t, "user@example.test", { role: "user" });
    const readKey = await createApiKey(t, ["read"]);
    const adminKey = await createApiKey(t, ["admin"]);
    const net = await createNetwork(t, { topology: "mesh" });
    node = await createNode(t, net.id, { name: "laptop", email: "ada@example.com" });
    const other = await createNode(t, net.id, { name: "phone" });
    const enrollmentKey = await createEnrollmentKey(t, net.id, { reusable: true });
    const webhook = await json(
      await t.request("/api/admin/settings/webhooks", {
        method: "POST",
        body: { name: "hook", type: "GENERIC", webhookUrl: "http://127.0.0.1:9/hook", events: ["*"] },
      }),
    );
    const settingValue = "re_secret_setting_value_0123456789";
    const setting = await t.request("/api/admin/settings", {
      method: "POST",
      body: { key: "email.resendApiKey", value: settingValue, encrypted: true },
    });
    expect(setting.status).toBe(200);

    secrets = new Map([
      ["private key", /^PrivateKey = (\S+)$/m.exec(node.config)![1]!],
      ["node token", node.token],
      ["other node's token", other.token],
      ["other node's private key", /^PrivateKey = (\S+)$/m.exec(other.config)![1]!],
      ["enrollment key", enrollmentKey],
      ["read key", readKey.key],
      ["admin key", adminKey.key],
      ["bootstrap key", t.adminKey],
      ["webhook secret", webhook.data.secret],
      ["secret setting", settingValue],
      ["hub private key", (await t.platform.services.configs.hubState(net.id)).hubPrivateKey],
    ]);
    for (const [name, value] of secrets) expect(value, name).toMatch(/.{16,}/);

    credentials = {
      anonymous: { key: null },
      "read key": { key: readKey.key },
      "user session": { key: null, headers: bearer(user.token) },
      "other node": { key: null, headers: bearer(other.token) },
      "the node": { key: null, headers: bearer(node.token) },
      admin: {},
    };
  });
  afterAll(async () => {
    await t.close();
  });

  // Statuses in CALLERS order.
  const reads: [string, () => string, number[]][] = [
    ["node config", () => `/api/v1/nodes/${node.node.id}/config`, [401, 403, 403, 404, 200, 200]],
    ["node QR", () => `/api/v1/nodes/${node.node.id}/config?format=qr`, [401, 403, 403, 404, 200, 200]],
    ["node", () => `/api/v1/nodes/${node.node.id}`, [401, 200, 200, 403, 403, 200]],
    ["node list", () => "/api/v1/nodes", [401, 200, 200, 403, 403, 200]],
    ["networks", () => "/api/v1/networks", [401, 200, 200, 403, 403, 200]],
    ["public config", () => "/api/v1/config", [401, 200, 200, 403, 403, 200]],
    ["enrollment keys", () => "/api/v1/enrollment-keys", [401, 200, 200, 403, 403, 200]],
    ["API keys", () => "/api/admin/api-keys", [401, 403, 403, 403, 403, 200]],
    ["webhooks", () => "/api/admin/settings/webhooks", [401, 403, 403, 403, 403, 200]],
    ["settings", () => "/api/admin/settings", [401, 403, 403, 403, 403, 200]],
    ["audit log", () => "/api/admin/audit?limit=200", [401, 403, 403, 403, 403, 200]],
    ["me", () => "/api/auth/me", [401, 200, 200, 403, 403, 200]],
  ];

  it("answers every read with the stated status, and only the node and an admin see its private key", async () => {
    const seen: string[] = [];
    const statuses: Record<string, number[]> = {};
    for (const [name, path, expected] of reads) {
      statuses[name] = [];
      for (const caller of CALLERS) {
        const res = await t.request(path(), credentials[caller]);
        statuses[name].push(res.status);
        const bytes = Buffer.from(await res.arrayBuffer());
        if (name === "node QR" && res.status === 200) {
          expect(bytes.subarray(0, 4).equals(PNG_MAGIC), caller).toBe(true);
          if (caller === "the node" || caller === "admin") seen.push(`private key (QR) -> ${caller}`);
          continue;
        }
        const text = bytes.toString("utf8");
        for (const [secret, value] of secrets) {
          if (text.includes(value)) seen.push(`${secret} via ${name} -> ${caller}`);
        }
      }
      expect(statuses[name], name).toEqual(expected);
    }
    expect(seen).toEqual([
      "private key via node config -> the node",
      "private key via node config -> admin",
      "private key (QR) -> the node",
      "private key (QR) -> admin",
    ]);
  });

  // Answers that make a secret: only an admin may call them (statuses in CALLERS order).
  const mints: [string, string, string, () => unknown][] = [
    ["an API key", "POST", "/api/admin/api-keys", () => ({ name: `k-${Math.random()}`, scopes: ["admin"] })],
    ["an enrollment key", "POST", "/api/v1/enrollment-keys", () => ({ networkId: node.node.networkId })],
    [
      "a node (token, private key)",
      "POST",
      "/api/v1/nodes",
      () => ({ networkId: node.node.networkId, name: `n-${Math.random().toString(36).slice(2, 8)}` }),
    ],
    [
      "a webhook secret",
      "POST",
      "/api/admin/settings/webhooks",
      () => ({
        name: `h-${Math.random()}`,
        type: "GENERIC",
        webhookUrl: "http://127.0.0.1:9/h",
        events: ["*"],
      }),
    ],
    [
      "a user (an account to sign in with)",
      "POST",
      "/api/auth/register",
      () => ({
        email: `u${Math.random().toString(36).slice(2)}@example.test`,
        password: "a long enough password",
      }),
    ],
  ];

  it.each(mints)(
    "lets only an admin mint %s: 401 anonymous, 403 to every other caller",
    async (_, method, path, body) => {
      const statuses: number[] = [];
      for (const caller of CALLERS) {
        const res = await t.request(path, { method, body: body(), ...credentials[caller] });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 403, 403, 403, 403, 201]);
    },
  );

  it("lets only an admin rotate a webhook's secret", async () => {
    const hooks = (await json(await t.request("/api/admin/settings/webhooks"))).data;
    const statuses: number[] = [];
    for (const caller of CALLERS) {
      const res = await t.request("/api/admin/settings/webhooks", {
        method: "PUT",
        body: { id: hooks[0].id, rotateSecret: true },
        ...credentials[caller],
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 403, 403, 403, 403, 200]);
  });
});
