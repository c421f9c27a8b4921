import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../src/config.js";

const problemsOf = (env: Record<string, string>) => {
  try {
    parseConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

describe("TURN configuration", () => {
  it("reads TURN_URLS, TURN_SECRET and TURN_TTL_SECONDS", () => {
    const config = parseConfig({
      TURN_URLS: "turn:turn.example.com:3478?transport=udp, stun:turn.example.com:3478",
      TURN_SECRET: "0123456789abcdef-secret",
      TURN_TTL_SECONDS: "900",
    });
    expect(config.turn).toEqual({
      urls: ["turn:turn.example.com:3478?transport=udp", "stun:turn.example.com:3478"],
      secret: "0123456789abcdef-secret",
      ttlSeconds: 900,
    });
    expect(parseConfig({}).turn).toEqual({ urls: [], secret: undefined, ttlSeconds: 3_600 });
  });

  it.each<[string, Record<string, string>, string]>([
    ["a turn: url without a secret", { TURN_URLS: "turn:t.example:3478" }, "TURN_SECRET: is required"],
    [
      "a secret without a turn: url",
      { TURN_URLS: "stun:t.example:3478", TURN_SECRET: "0123456789abcdef" },
      "TURN_URLS: names no turn: server",
    ],
    [
      "an http url",
      { TURN_URLS: "http://t.example", TURN_SECRET: "0123456789abcdef" },
      "TURN_URLS: each entry must be a stun:",
    ],
    [
      "a short secret",
      { TURN_URLS: "turn:t.example", TURN_SECRET: "short" },
      "TURN_SECRET: must be at least 16 characters",
    ],
    ["a ttl under a minute", { TURN_TTL_SECONDS: "59" }, "TURN_TTL_SECONDS:"],
  ])("refuses %s, naming the variable", (_, env, problem) => {
    const problems = problemsOf(env);
    expect(
      problems.some((p) => p.startsWith(problem)),
      problems.join("\n"),
    ).toBe(true);
    // The secret's value is never echoed.
    expect(problems.join("\n")).not.toContain(env.TURN_SECRET ?? "\u0000");
  });
});
