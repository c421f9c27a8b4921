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
    ["AGENT_NAT_TYPE", "cgnat"],
  ])("refuses %s=%s", (key, value) => {
    const result = AgentEnvSchema.safeParse({ ...base, [key]: value });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual([key]);
  });
});

describe("agent NAT type", () => {
  it.each([
    ["Symmetric", "symmetric"],
    ["FullCone", "full-cone"],
    ["port_restricted_cone", "port-restricted-cone"],
    ["", undefined],
    [undefined, undefined],
  ])("reads AGENT_NAT_TYPE=%j as %j", (value, natType) => {
    expect(AgentEnvSchema.parse({ ...base, AGENT_NAT_TYPE: value }).AGENT_NAT_TYPE).toBe(natType);
  });

  it("names the accepted spellings when it refuses one", () => {
    const result = AgentEnvSchema.safeParse({ ...base, AGENT_NAT_TYPE: "cgnat" });
    expect(result.error?.issues[0]?.message).toMatch(/^must be a NAT type: none \(Open/);
  });
});
