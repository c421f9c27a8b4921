import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  buildGenericBody,
  generateWebhookSecret,
  SIGNATURE_HEADER,
  signedHeaders,
  signPayload,
  TIMESTAMP_HEADER,
  verifySignature,
} from "../../../src/notify/index.js";

const SECRET = "whsec_test";
const NOW = 1_700_000_000;

describe("generic webhook signatures", () => {
  it("signs HMAC-SHA256 over `<timestamp>.<body>`, hex, prefixed v1=", () => {
    const body = '{"a":1}';
    const expected = createHmac("sha256", SECRET).update(`${NOW}.${body}`).digest("hex");
    expect(signPayload(SECRET, NOW, body)).toBe(`v1=${expected}`);
  });

  it("puts timestamp and signature in headers a receiver can verify", () => {
    const body = buildGenericBody(
      { id: "e1", type: "deploy.done", data: { ok: true }, createdAt: new Date(NOW * 1000) },
      "d1",
    );
    expect(JSON.parse(body)).toEqual({
      id: "e1",
      type: "deploy.done",
      created_at: new Date(NOW * 1000).toISOString(),
      delivery_id: "d1",
      data: { ok: true },
    });
    const headers = signedHeaders(SECRET, body, {
      eventType: "deploy.done",
      deliveryId: "d1",
      nowSeconds: NOW,
    });
    expect(headers[TIMESTAMP_HEADER]).toBe(String(NOW));
    const input = { timestamp: headers[TIMESTAMP_HEADER]!, signature: headers[SIGNATURE_HEADER]!, body };
    expect(verifySignature(SECRET, input, NOW)).toBe(true);
  });

  it.each([
    ["a changed body", { body: '{"a":2}' }, NOW],
    ["another secret", { secret: "whsec_other" }, NOW],
    ["an old timestamp", {}, NOW + 301],
    ["a malformed timestamp", { timestamp: "soon" }, NOW],
  ])("rejects %s", (_name, change: { body?: string; secret?: string; timestamp?: string }, now) => {
    const body = '{"a":1}';
    const signature = signPayload(SECRET, NOW, body);
    const input = { timestamp: change.timestamp ?? String(NOW), signature, body: change.body ?? body };
    expect(verifySignature(change.secret ?? SECRET, input, now)).toBe(false);
  });

  it("generates distinct high-entropy secrets", () => {
    const a = generateWebhookSecret();
    expect(a).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(generateWebhookSecret()).not.toBe(a);
  });
});
