import { describe, expect, it } from "vitest";
import { hasReached, newCrossings } from "../../../src/quota/index.js";

describe("newCrossings", () => {
  it.each([
    { used: 0, quota: 1_000, recorded: [], expected: [], why: "nothing used crosses nothing" },
    { used: 799, quota: 1_000, recorded: [], expected: [], why: "one byte short of 80 % crosses nothing" },
    { used: 800, quota: 1_000, recorded: [], expected: [80], why: "exactly 80 % crosses the warning" },
    { used: 999, quota: 1_000, recorded: [80], expected: [], why: "a recorded warning is not crossed again" },
    {
      used: 1_000,
      quota: 1_000,
      recorded: [80],
      expected: [100],
      why: "exactly the quota crosses the limit",
    },
    {
      used: 5_000,
      quota: 1_000,
      recorded: [],
      expected: [80, 100],
      why: "a jump past both crosses both, in order",
    },
    {
      used: 5_000,
      quota: 1_000,
      recorded: [80, 100],
      expected: [],
      why: "both recorded: nothing more this month",
    },
    {
      used: 5_000,
      quota: 1_000,
      recorded: [100],
      expected: [80],
      why: "a missing warning is still recorded",
    },
    { used: 10 ** 15, quota: null, recorded: [], expected: [], why: "no quota: no crossing" },
    { used: 10, quota: 0, recorded: [], expected: [], why: "a zero quota is no quota" },
  ])("$why", ({ used, quota, recorded, expected }) => {
    expect(newCrossings(used, quota, recorded)).toEqual(expected);
  });

  it("compares in integers near 2^53 without rounding a byte short into a crossing", () => {
    const quota = 2 ** 50;
    expect(hasReached(quota - 1, quota, 100)).toBe(false);
    expect(hasReached(quota, quota, 100)).toBe(true);
    expect(hasReached((quota / 10) * 8 - 1, quota, 80)).toBe(false);
    expect(hasReached((quota / 10) * 8, quota, 80)).toBe(true);
  });
});
