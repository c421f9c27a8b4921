import { describe, expect, it } from "vitest";
import { AgentEnvSchema } from "../../../src/config.js";

const base = { WIRESYNC_URL: "https://wiresync.example.com" };

describe("agent relay settings", () => {
  it("relays after 12 s and tries directly again after 60 s unless told otherwise", () => {
    expect(AgentEnvSchema.parse(base)).toMatchObject({
      AGENT_RELAY: "on",
      AGENT_RELAY_AFTER_SECONDS: 12,
      AGENT_RELAY_PROBE_SECONDS: 60,
    });
  });

  it.each([
    ["AGENT_RELAY", "yes"],
    ["AGENT_RELAY_AFTER_SECONDS", "0"],
    ["AGENT_RELAY_AFTER_SECONDS", "601"],
    ["AGENT_RELAY_PROBE_SECONDS", "4"],
  ])("refuses %s=%s", (key, value) => {
    const result = AgentEnvSchema.safeParse({ ...base, [key]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([key]);
  });
});
