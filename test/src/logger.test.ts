import { describe, expect, it } from "vitest";
import { redactUrl } from "../../src/logger.js";
import { captureLogger } from "../support/logs.js";

describe("REDACT_PATHS", () => {
  const SECRET = "c2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1uZXZlci1sZWFr";

  /** Logs `fields` and returns the one line written. */
  function logged(fields: Record<string, unknown>): Record<string, unknown> {
    const { logger, logs } = captureLogger();
    logger.info(fields, "event");
    expect(logs.text).not.toContain(SECRET);
    return logs.parsed()[0]!;
  }

  it.each(["presharedKey", "privateKeyEnc", "hubPrivateKeyEnc", "tokenHash", "keyHash"])(
    "blanks %s one level down (a peer, a plan, a row)",
    (field) => {
      expect(logged({ peer: { [field]: SECRET, publicKey: "kept" } }).peer).toEqual({
        [field]: "[REDACTED]",
        publicKey: "kept",
      });
    },
  );

  it.each(["privateKey", "presharedKey", "token", "apiKey"])("blanks %s two levels down", (field) => {
    const line = logged({ job: { plan: { [field]: SECRET, publicKey: "kept" } } });
    expect(line.job).toEqual({ plan: { [field]: "[REDACTED]", publicKey: "kept" } });
  });

  it("blanks a top-level presharedKey", () => {
    expect(logged({ presharedKey: SECRET }).presharedKey).toBe("[REDACTED]");
  });
});

describe("redactUrl", () => {
  it.each([
    ["a plain api_key", "/a?api_key=wsk_secret", "/a?api_key=[REDACTED]"],
    ["an api_key after other parameters", "/a?limit=1&api_key=s&x=2", "/a?limit=1&api_key=[REDACTED]&x=2"],
    ["a percent-encoded name", "/a?api%5Fkey=s", "/a?api%5Fkey=[REDACTED]"],
    ["an upper-case name", "/a?API_KEY=s", "/a?API_KEY=[REDACTED]"],
    ["a token", "/a?token=s#frag", "/a?token=[REDACTED]#frag"],
    ["an empty value", "/a?api_key=", "/a?api_key=[REDACTED]"],
  ])("redacts %s", (_name, url, expected) => {
    expect(redactUrl(url)).toBe(expected);
  });

  it.each([
    ["a URL without a query", "/api/v1/sync/logs"],
    ["harmless parameters", "/api/v1/sync/logs?limit=10&offset=5&type=full"],
    ["a name that only contains 'key'", "/a?monkey=banana"],
    ["a malformed escape", "/a?%E0%A4%A=1"],
  ])("leaves %s alone", (_name, url) => {
    expect(redactUrl(url)).toBe(url);
  });
});
