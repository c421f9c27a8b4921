import { describe, expect, it } from "vitest";
import {
  backoffMs,
  emailsForEvent,
  judgeAttempt,
  networkOf,
  retryAfterMs,
  webhookMatches,
} from "../../../src/notify/index.js";
import { inRooms } from "../../../src/realtime/index.js";
import type { SyncRunRow } from "../../../src/sync/index.js";
import { runEventData } from "../../../src/sync/index.js";

const NET = "11111111-1111-4111-8111-111111111111";
const hook = (over: Partial<{ enabled: boolean; events: string[]; scope: string }> = {}) => ({
  id: "w",
  enabled: true,
  events: ["sync.failed"],
  scope: "global",
  ...over,
});

describe("webhookMatches", () => {
  it.each([
    ["a subscribed type", hook(), { type: "sync.failed", data: {} }, true],
    ["another type", hook(), { type: "sync.completed", data: {} }, false],
    ["any type with *", hook({ events: ["*"] }), { type: "deploy.done", data: {} }, true],
    ["nothing when disabled", hook({ enabled: false }), { type: "sync.failed", data: {} }, false],
    [
      "its network's events when scoped",
      hook({ events: ["node.enrolled"], scope: `network:${NET}` }),
      { type: "node.enrolled", data: { network: { id: NET } } },
      true,
    ],
    [
      "not other networks' events when scoped",
      hook({ events: ["node.enrolled"], scope: `network:${NET}` }),
      { type: "node.enrolled", data: { node: { networkId: "other" } } },
      false,
    ],
  ])("delivers %s", (_name, webhook, event, expected) => {
    expect(webhookMatches(webhook, event)).toBe(expected);
  });
});

describe("events of a network's sync run", () => {
  const OTHER = "22222222-2222-4222-8222-222222222222";
  const at = new Date("2026-12-06T09:00:00Z");
  /** A run's `sync.failed` event as the sync service writes it (`runEventData`). */
  const runEvent = (options: SyncRunRow["options"]) => ({
    type: "sync.failed",
    data: runEventData({
      id: "33333333-3333-4333-8333-333333333333",
      type: "peers",
      status: "FAILED",
      itemsTotal: 1,
      itemsSynced: 0,
      itemsFailed: 1,
      error: "1 of 1 tasks failed",
      requestedBy: "system",
      jobId: null,
      options,
      items: [],
      cancelRequested: false,
      dedupeKey: null,
      attempts: 1,
      createdAt: at,
      startedAt: at,
      completedAt: at,
      updatedAt: at,
    }),
  });

  it("are about that network", () => {
    expect(networkOf(runEvent({ networkId: NET }))).toBe(NET);
    expect(networkOf(runEvent({}))).toBeUndefined();
  });

  it.each([
    ["a hook scoped to its network", `network:${NET}`, { networkId: NET }, true],
    ["not a hook scoped to another network", `network:${OTHER}`, { networkId: NET }, false],
    ["not a network-scoped hook when the run spans every network", `network:${NET}`, {}, false],
    ["a global hook", "global", { networkId: NET }, true],
  ])("reach %s", (_name, scope, options, expected) => {
    expect(webhookMatches(hook({ scope }), runEvent(options))).toBe(expected);
  });

  it("reach their network's live room, and no other network's", () => {
    expect(inRooms(runEvent({ networkId: NET }), new Set([NET]))).toBe(true);
    expect(inRooms(runEvent({ networkId: NET }), new Set([OTHER]))).toBe(false);
    expect(inRooms(runEvent({}), new Set([NET]))).toBe(false);
  });
});

describe("emailsForEvent", () => {
  const alerts = { alertRecipients: ["ops@example.com"] };
  it("sends node-config only for an enrolled node with an email and a server-held key", () => {
    const node = { id: "n1", name: "laptop", email: "me@example.com" };
    expect(
      emailsForEvent({ type: "node.enrolled", data: { node: { ...node, hasServerKey: true } } }, alerts),
    ).toEqual([{ to: "me@example.com", template: "node-config", data: { nodeId: "n1" } }]);
    expect(
      emailsForEvent({ type: "node.enrolled", data: { node: { ...node, hasServerKey: false } } }, alerts),
    ).toEqual([]);
  });

  it("sends the new node-config when a server-held node's config is reissued (its key or its hub's rotated)", () => {
    const node = { id: "n1", name: "laptop", email: "me@example.com", hasServerKey: true };
    expect(
      emailsForEvent({ type: "node.updated", data: { node, keyRotated: "server", newConfig: true } }, alerts),
    ).toEqual([{ to: "me@example.com", template: "node-config", data: { nodeId: "n1" } }]);
    // An agent's own rotation, an edit without a rotation, or a node without an email: no email.
    expect(
      emailsForEvent({ type: "node.updated", data: { node, keyRotated: "agent", newConfig: false } }, alerts),
    ).toEqual([]);
    expect(emailsForEvent({ type: "node.updated", data: { node, changed: ["name"] } }, alerts)).toEqual([]);
    const { email: _none, ...withoutEmail } = node;
    expect(
      emailsForEvent({ type: "node.updated", data: { node: withoutEmail, newConfig: true } }, alerts),
    ).toEqual([]);
  });

  it("sends node-offline to the owner and the alert recipients, once each", () => {
    const data = { node: { id: "n1", name: "laptop", email: "OPS@example.com" } };
    expect(emailsForEvent({ type: "node.offline", data }, alerts).map((e) => e.to)).toEqual([
      "OPS@example.com",
    ]);
  });

  it("sends sync-failed to the alert recipients", () => {
    const data = { run: { id: "r1", type: "full", error: "x" } };
    expect(emailsForEvent({ type: "sync.failed", data }, alerts)).toEqual([
      { to: "ops@example.com", template: "sync-failed", data },
    ]);
  });
});

describe("retries", () => {
  it("backs off exponentially with equal jitter, capped", () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffMs(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffMs(20, 1000, 60_000, () => 1)).toBe(60_000);
  });

  it("reads how long a 429 asks to wait", () => {
    expect(retryAfterMs({}, '{"retry_after": 1.5, "global": false}', 0)).toBe(1500);
    expect(retryAfterMs({ "x-ratelimit-reset-after": "2.25" }, "", 0)).toBe(2250);
    expect(retryAfterMs({ "retry-after": "3" }, "", 0)).toBe(3000);
    expect(retryAfterMs({}, "slow down", 0)).toBeUndefined();
  });

  const policy = { maxAttempts: 3, backoffBaseMs: 100, backoffMaxMs: 1000 };
  const response = (status: number, body = "") => ({
    kind: "response" as const,
    status,
    headers: {},
    body,
    durationMs: 1,
  });
  it.each([
    [200, 1, "delivered", false, undefined],
    [204, 1, "delivered", false, undefined],
    [500, 1, "retry", true, undefined],
    [500, 3, "failed", true, undefined],
    [400, 1, "failed", true, undefined],
    [401, 1, "failed", true, undefined],
    [403, 1, "failed", true, undefined],
    [404, 1, "failed", true, "the receiver answered 404: the webhook no longer exists"],
    [302, 1, "failed", true, undefined],
    [408, 1, "retry", true, undefined],
  ])("judges %i on attempt %i as %s", (status, attempt, outcome, isFailure, disableReason) => {
    const verdict = judgeAttempt(response(status), attempt, policy, 0, () => 0.5);
    expect(verdict.outcome).toBe(outcome);
    expect(verdict.isFailure).toBe(isFailure);
    expect(verdict.disableReason).toBe(disableReason);
  });

  it("waits what a 429 asks without counting it as a failure", () => {
    const verdict = judgeAttempt(response(429, '{"retry_after": 1.5}'), 1, policy, 0);
    expect(verdict).toMatchObject({ outcome: "rate-limited", retryInMs: 1500, isFailure: false });
  });

  it("does not retry a URL the SSRF guard refused", () => {
    const verdict = judgeAttempt({ kind: "error", refused: true, error: "no", durationMs: 0 }, 1, policy, 0);
    expect(verdict.outcome).toBe("refused");
    expect(verdict.retryInMs).toBeUndefined();
  });
});

describe("emailsForEvent of quota events", () => {
  const data = {
    node: { id: "n1", name: "laptop", email: "ada@example.com" },
    network: { id: NET, name: "office" },
    quota: { month: "2026-03", thresholdPercent: 80, usedBytes: 800, limitBytes: 1_000 },
    disabled: false,
  };
  it.each(["node.quota-warning", "node.quota-exceeded"])(
    "%s mails the node's owner and each alert recipient once",
    (type) => {
      const mails = emailsForEvent(
        { type, data },
        { alertRecipients: ["ops@example.com", "ADA@example.com"] },
      );
      expect(mails.map((m) => [m.template, m.to])).toEqual([
        ["node-quota", "ada@example.com"],
        ["node-quota", "ops@example.com"],
      ]);
    },
  );
});
