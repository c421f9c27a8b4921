import { describe, expect, it } from "vitest";
import { CreateWebhookBody, toWebhookInput } from "../../../../apps/api/routes/webhooks/schemas.js";

const panel = (webhookUrl: string, extra: Record<string, unknown> = {}) =>
  CreateWebhookBody.parse({ name: "ops", webhookUrl, type: "SYSTEM", scope: "ADMIN", ...extra });

describe("toWebhookInput (the panel's webhook form)", () => {
  it.each([
    ["a discord.com URL makes a DISCORD webhook", "https://discord.com/api/webhooks/1/t", "DISCORD"],
    ["a discordapp.com URL makes a DISCORD webhook", "https://discordapp.com/api/webhooks/1/t", "DISCORD"],
    ["any other URL makes a signed GENERIC webhook", "https://hooks.example.com/in", "GENERIC"],
    ["a host that merely contains discord.com is GENERIC", "https://discord.com.example.net/x", "GENERIC"],
    ["a string that is no URL is GENERIC (its URL check refuses it)", "not a url", "GENERIC"],
  ] as const)("%s", (_name, url, type) => {
    expect(toWebhookInput(panel(url))).toEqual({
      name: "ops",
      webhookUrl: url,
      type,
      scope: "global",
      events: ["*"],
      enabled: true,
    });
  });

  it("keeps the events and enabled flag the panel sends", () => {
    expect(
      toWebhookInput(panel("https://x.example/h", { events: ["sync.failed"], enabled: false })),
    ).toMatchObject({
      events: ["sync.failed"],
      enabled: false,
    });
  });

  it("passes wiresync's own form through unchanged", () => {
    const own = CreateWebhookBody.parse({
      name: "own",
      webhookUrl: "https://x.example/h",
      type: "GENERIC",
      events: ["node.enrolled"],
    });
    expect(toWebhookInput(own)).toEqual({
      name: "own",
      webhookUrl: "https://x.example/h",
      type: "GENERIC",
      scope: "global",
      events: ["node.enrolled"],
      enabled: true,
    });
  });

  it.each([
    [
      "another panel type",
      { type: "USER", scope: "ADMIN" },
      /^must be one of DISCORD, GENERIC, GOTIFY, SYSTEM/,
    ],
    ["another panel scope", { type: "SYSTEM", scope: "USER" }, /ADMIN/],
  ])("refuses %s", (_name, over, message) => {
    const parsed = CreateWebhookBody.safeParse({ name: "x", webhookUrl: "https://x.example/h", ...over });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(message);
  });
});
