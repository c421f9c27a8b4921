import { describe, expect, it } from "vitest";
import { FutureDate, inspectJson, MAX_JSON_DEPTH, unsafeTextReason } from "../../src/validation.js";

describe("unsafeTextReason", () => {
  it.each([
    ["a NUL", "a\u0000b", /NUL/],
    ["a lone high surrogate", "a\ud800", /lone UTF-16 surrogate/],
    ["a lone low surrogate", "\udc00a", /lone UTF-16 surrogate/],
    ["two high surrogates", "\ud800\ud800\udc00", /lone/],
  ])("names %s", (_what, text, reason) => {
    expect(unsafeTextReason(text)).toMatch(reason);
  });

  it.each([
    ["plain text", "hello"],
    ["an emoji (a surrogate pair)", "😀x😀"],
    ["empty text", ""],
    ["other control characters", "\u0001\t\n"],
  ])("passes %s", (_what, text) => {
    expect(unsafeTextReason(text)).toBeUndefined();
  });
});

describe("inspectJson", () => {
  const nest = (depth: number): unknown => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { a: v };
    return v;
  };

  it(`passes nesting of ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}`, () => {
    expect(inspectJson(nest(MAX_JSON_DEPTH))).toBeUndefined();
    expect(inspectJson(nest(MAX_JSON_DEPTH + 1))?.reason).toBe(`nests deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it("walks 100,000 levels without overflowing the stack", () => {
    expect(inspectJson(JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`))?.reason).toMatch(/deeper/);
  });

  it.each([
    ["a NUL in a nested string", { a: [1, { b: "x\u0000" }] }, "a[1].b", /NUL/],
    ["a lone surrogate at the top", "\ud800", "", /surrogate/],
    ["a NUL in a key", { a: { "k\u0000": 1 } }, "a", /key that contains a NUL/],
    ["a __proto__ key", JSON.parse('{"a":{"__proto__":{"admin":true}}}'), "a.__proto__", /no input may use/],
  ])("finds %s, and where", (_what, value, path, reason) => {
    const found = inspectJson(value);
    expect(found?.path).toBe(path);
    expect(found?.reason).toMatch(reason);
  });

  it("passes ordinary documents, prototype-like keys other than __proto__ included", () => {
    expect(
      inspectJson({ toString: "x", constructor: [1, 2], list: ["😀", null, true, 1.5] }),
    ).toBeUndefined();
  });
});

describe("FutureDate", () => {
  const later = new Date(Date.now() + 3_600_000).toISOString();

  it.each([
    ["a timestamp in UTC", later],
    ["a timestamp with an offset", "2999-01-01T00:00:00+02:00"],
    ["a date", "2999-12-31"],
  ])("takes %s", (_what, value) => {
    const parsed = FutureDate.safeParse(value);
    expect(parsed.success).toBe(true);
    expect(parsed.data?.getTime()).toBe(new Date(value).getTime());
  });

  it.each([
    ["a past timestamp", "2001-01-01T00:00:00Z", /must be in the future/],
    ["a number", 0, /ISO 8601/],
    ["a boolean", true, /ISO 8601/],
    ["free text", "tomorrow", /ISO 8601/],
    ["a timestamp without a zone", "2999-01-01T00:00:00", /ISO 8601/],
    ["an impossible date", "2999-02-30", /ISO 8601/],
  ])("refuses %s", (_what, value, message) => {
    const parsed = FutureDate.safeParse(value);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(message);
  });
});
