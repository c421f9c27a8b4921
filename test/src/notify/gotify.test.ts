import { describe, expect, it } from "vitest";
import type { EventMessage } from "../../../src/notify/index.js";
import { buildGotifyMessage, GOTIFY_PRIORITIES, gotifyMessageUrl } from "../../../src/notify/index.js";

const event = (type: string, data: Record<string, unknown>): EventMessage => ({
  id: "0b1c3f5e-0000-4000-8000-000000000001",
  type,
  data,
  createdAt: new Date("2026-03-01T10:00:00Z"),
});

describe("buildGotifyMessage", () => {
  it.each([
    { type: "sync.failed", priority: 8, why: "a failure is high priority (pops up)" },
    { type: "node.quota-exceeded", priority: 8, why: "a node over its quota is a failure" },
    { type: "node.offline", priority: 5, why: "a warning notifies with sound" },
    { type: "node.quota-warning", priority: 5, why: "a quota warning is a warning" },
    { type: "node.enrolled", priority: 3, why: "a success notifies silently" },
    { type: "node.updated", priority: 1, why: "information is the lowest priority that still notifies" },
    { type: "deploy.finished", priority: 1, why: "a custom event without an outcome is information" },
  ])("$why ($type → $priority)", ({ type, priority }) => {
    expect(buildGotifyMessage(event(type, {}), "d1").priority).toBe(priority);
  });

  it("maps every outcome to Gotify's 0–10 range", () => {
    for (const p of Object.values(GOTIFY_PRIORITIES)) expect(p >= 0 && p <= 10).toBe(true);
  });

  it("titles the event, puts its prose first and one line per field, and names the delivery in extras", () => {
    const message = buildGotifyMessage(
      event("sync.failed", { run: { id: "r1", type: "full", error: "hub unreachable" } }),
      "delivery-7",
    );
    expect(message).toEqual({
      title: "Sync failed (full)",
      message: "hub unreachable\n\nrun.id: r1\nrun.type: full\nrun.error: hub unreachable",
      priority: 8,
      extras: {
        "client::display": { contentType: "text/plain" },
        "wiresync::event": {
          id: "0b1c3f5e-0000-4000-8000-000000000001",
          type: "sync.failed",
          deliveryId: "delivery-7",
        },
      },
    });
  });

  it("cuts a huge message to 4,000 characters", () => {
    const message = buildGotifyMessage(event("deploy.finished", { message: "x".repeat(50_000) }), "d");
    expect(Array.from(message.message)).toHaveLength(4_000);
    expect(message.message.endsWith("…")).toBe(true);
  });
});

describe("gotifyMessageUrl", () => {
  it.each([
    ["https://push.example.com", "https://push.example.com/message"],
    ["https://push.example.com/", "https://push.example.com/message"],
    ["https://example.com/gotify/", "https://example.com/gotify/message"],
    ["http://127.0.0.1:8080/g", "http://127.0.0.1:8080/g/message"],
  ])("%s → %s", (server, expected) => {
    expect(gotifyMessageUrl(server)).toBe(expected);
  });
});
