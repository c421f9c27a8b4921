import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../../src/notify/index.js";
import {
  buildDiscordPayload,
  DISCORD_COLOURS,
  DISCORD_LIMITS,
  embedLength,
} from "../../../src/notify/index.js";

const AT = new Date("2025-01-02T03:04:05.000Z");
const ID = "0b0e6c1e-6a55-4f39-9d0e-1f4b7e0a9c11";

const event = (type: string, data: Record<string, unknown>): EventMessage => ({
  id: ID,
  type,
  data,
  createdAt: AT,
});

describe("buildDiscordPayload", () => {
  it("renders a sync failure as one red embed with fields, timestamp and footer", () => {
    const payload = buildDiscordPayload(
      event("sync.failed", {
        run: {
          id: "r1",
          type: "full",
          status: "FAILED",
          itemsTotal: 3,
          itemsFailed: 1,
          error: "peers of lab: boom",
        },
      }),
    );
    expect(payload).toEqual({
      username: "wiresync",
      allowed_mentions: { parse: [] },
      embeds: [
        {
          title: "Sync failed (full)",
          description: "peers of lab: boom",
          color: DISCORD_COLOURS.failure,
          fields: [
            { name: "run.id", value: "r1", inline: true },
            { name: "run.type", value: "full", inline: true },
            { name: "run.status", value: "FAILED", inline: true },
            { name: "run.itemsTotal", value: "3", inline: true },
            { name: "run.itemsFailed", value: "1", inline: true },
            { name: "run.error", value: "peers of lab: boom", inline: true },
          ],
          timestamp: "2025-01-02T03:04:05.000Z",
          footer: { text: `wiresync · sync.failed · ${ID}` },
        },
      ],
    });
  });

  it.each([
    ["node.enrolled", "success"],
    ["node.online", "success"],
    ["sync.completed", "success"],
    ["node.offline", "warning"],
    ["drift.detected", "warning"],
    ["sync.failed", "failure"],
    ["webhook.disabled", "failure"],
    ["node.updated", "info"],
    ["sync.started", "info"],
  ] as const)("colours %s as %s", (type, outcome) => {
    expect(buildDiscordPayload(event(type, { node: { name: "n1" } })).embeds[0]!.color).toBe(
      DISCORD_COLOURS[outcome],
    );
  });

  it("lets a custom event choose its title, description and outcome", () => {
    const embed = buildDiscordPayload(
      event("deploy.finished", {
        title: "Deployed",
        message: "v1.2 is live",
        outcome: "success",
        version: "1.2",
      }),
    ).embeds[0]!;
    expect(embed.title).toBe("Deployed");
    expect(embed.description).toBe("v1.2 is live");
    expect(embed.color).toBe(DISCORD_COLOURS.success);
    expect(embed.fields).toEqual([{ name: "version", value: "1.2", inline: true }]);
  });

  it("keeps a 10,000-character input and 100 fields inside every Discord limit", () => {
    const huge = "x".repeat(10_000);
    const data: Record<string, unknown> = { title: huge, message: huge };
    for (let i = 0; i < 100; i++) data[`${"k".repeat(300)}${i}`] = huge;
    const payload = buildDiscordPayload(event("custom.big", data));
    const embed = payload.embeds[0]!;
    expect(payload.embeds.length).toBeLessThanOrEqual(DISCORD_LIMITS.embeds);
    expect(embed.title.length).toBeLessThanOrEqual(DISCORD_LIMITS.title);
    expect(embed.description!.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(embed.fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    for (const f of embed.fields) {
      expect(f.name.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
      expect(f.value.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
      expect(f.value.length).toBeGreaterThan(0);
    }
    expect(embed.footer.text.length).toBeLessThanOrEqual(DISCORD_LIMITS.footerText);
    expect(embedLength(embed)).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
    expect(embed.fields.length).toBeGreaterThan(0);
    expect(JSON.stringify(payload).length).toBeLessThan(10_000);
  });

  it("counts characters, not UTF-16 units, and never splits an emoji", () => {
    const embed = buildDiscordPayload(event("custom.emoji", { message: "🔥".repeat(5_000) })).embeds[0]!;
    expect(Array.from(embed.description!).length).toBeLessThanOrEqual(2_000);
    expect(embed.description!.endsWith("…")).toBe(true);
    expect(embed.description!).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});
