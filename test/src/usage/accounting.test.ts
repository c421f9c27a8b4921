import { describe, expect, it } from "vitest";
import { accumulate, counterDelta, monthOf } from "../../../src/usage/accounting.js";

describe("usage accounting", () => {
  it.each([
    ["counts growth since the last reading", 100, 250, 150],
    ["counts nothing when the counter did not move", 100, 100, 0],
    ["counts the whole new value after a reset", 5_000, 300, 300],
  ])("counterDelta %s", (_name, last, current, expected) => {
    expect(counterDelta(last, current)).toBe(expected);
  });

  it("starts a peer's first month from its counters", () => {
    expect(accumulate(undefined, { rx: 10, tx: 20 }, "2026-11")).toEqual({
      month: "2026-11",
      rxBytes: 10,
      txBytes: 20,
      lastRx: 10,
      lastTx: 20,
    });
  });

  it("adds the delta within a month", () => {
    const first = accumulate(undefined, { rx: 10, tx: 20 }, "2026-11");
    expect(accumulate(first, { rx: 15, tx: 50 }, "2026-11")).toMatchObject({ rxBytes: 15, txBytes: 50 });
  });

  it("survives an interface restart without counting negative bytes", () => {
    const before = accumulate(undefined, { rx: 1_000, tx: 1_000 }, "2026-11");
    const after = accumulate(before, { rx: 40, tx: 10 }, "2026-11");
    expect(after).toMatchObject({ rxBytes: 1_040, txBytes: 1_010, lastRx: 40, lastTx: 10 });
  });

  it("starts a new month with only what moved since the last reading", () => {
    const october = accumulate(undefined, { rx: 500, tx: 700 }, "2026-10");
    expect(accumulate(october, { rx: 600, tx: 900 }, "2026-11")).toEqual({
      month: "2026-11",
      rxBytes: 100,
      txBytes: 200,
      lastRx: 600,
      lastTx: 900,
    });
  });

  it("names months in UTC", () => {
    expect(monthOf(new Date("2026-11-30T23:59:59Z"))).toBe("2026-11");
    expect(monthOf(new Date("2026-12-01T00:00:00Z"))).toBe("2026-12");
  });
});
