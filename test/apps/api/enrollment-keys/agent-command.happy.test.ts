/**
 * A new enrollment key comes with the agent command line that uses it: addressed to `PUBLIC_URL` when
 * set, else to the address the request came to. The dashboard shows this line and the CLI prints it.
 */
import { afterAll, describe, expect, it } from "vitest";
import { json } from "../../../support/http.js";
import { createNetwork } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("the agent command of a new enrollment key", () => {
  const platforms: TestPlatform[] = [];
  afterAll(async () => {
    for (const t of platforms) await t.close();
  });

  async function createKey(t: TestPlatform, url: string) {
    const networkId = (await createNetwork(t)).id;
    const res = await t.request(url, { method: "POST", body: { networkId } });
    const payload = await json(res);
    expect(res.status, JSON.stringify(payload)).toBe(201);
    return payload.data as { key: string; agentCommand: string };
  }

  it("names PUBLIC_URL (without its trailing slash) as the server", async () => {
    const t = await createTestPlatform({ http: { publicUrl: "https://vpn.example.com/" } });
    platforms.push(t);
    const created = await createKey(t, "http://10.0.0.5:8080/api/v1/enrollment-keys");
    expect(created.agentCommand).toBe(
      `WIRESYNC_URL=https://vpn.example.com AGENT_ENROLLMENT_KEY=${created.key} AGENT_INTERFACE=wsync0 AGENT_NAME=$(hostname) wiresync-agent`,
    );
  });

  it("names the address the request came to when PUBLIC_URL is not set", async () => {
    const t = await createTestPlatform();
    platforms.push(t);
    const created = await createKey(t, "http://10.0.0.5:8080/api/v1/enrollment-keys");
    expect(created.agentCommand).toBe(
      `WIRESYNC_URL=http://10.0.0.5:8080 AGENT_ENROLLMENT_KEY=${created.key} AGENT_INTERFACE=wsync0 AGENT_NAME=$(hostname) wiresync-agent`,
    );
    // Listing keys never shows the key, so never the command either.
    const listed = await json(await t.request("/api/v1/enrollment-keys"));
    expect(JSON.stringify(listed)).not.toContain(created.key);
    expect(JSON.stringify(listed)).not.toContain("agentCommand");
  });
});
