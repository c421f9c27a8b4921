import { describe, expect, it } from "vitest";
import type { BenchRow } from "./harness.js";
import { checkRow, interleave, median, normaliseRow, pairedRow, parseTarget, verdict } from "./harness.js";

const row = (over: Partial<BenchRow>): BenchRow => ({
  name: "r",
  unit: "ms",
  ours: 10,
  baselineName: "b",
  baseline: 20,
  ratio: 0.5,
  rounds: 5,
  target: { of: "ratio", compare: "<=", value: 0.5 },
  ...over,
});

describe("bench harness", () => {
  it.each([
    ["a ratio at its ≤ limit passes", row({ ratio: 0.5 }), "PASS"],
    ["a ratio just over its ≤ limit fails", row({ ratio: 0.5001 }), "FAIL"],
    [
      "a throughput ratio under its ≥ limit fails",
      row({ ratio: 0.79, target: { of: "ratio", compare: ">=", value: 0.8 } }),
      "FAIL",
    ],
    [
      "a count equal to its = target passes",
      row({ ours: 0, ratio: null, target: { of: "ours", compare: "=", value: 0 } }),
      "PASS",
    ],
    [
      "one write where none is allowed fails",
      row({ ours: 1, ratio: null, target: { of: "ours", compare: "=", value: 0 } }),
      "FAIL",
    ],
    ["a missing ratio fails (no baseline measured)", row({ ratio: null }), "FAIL"],
    ["a NaN figure fails", row({ ratio: Number.NaN }), "FAIL"],
  ])("%s", (_, r, expected) => {
    expect(verdict(r)).toBe(expected);
  });

  it("takes the median of the per-round ratios, not the ratio of the medians", () => {
    // Rounds 1/2, 9/10, 10/1: ratios 0.5, 0.9, 10, median 0.9; the medians' ratio would be 9/2 = 4.5.
    const r = pairedRow(
      { name: "x", unit: "ms", baselineName: "b", target: { of: "ratio", compare: "<=", value: 1 } },
      { ours: [1, 9, 10], base: [2, 10, 1] },
    );
    expect(r.ours).toBe(9);
    expect(r.baseline).toBe(2);
    expect(r.ratio).toBe(0.9);
    expect(r.rounds).toBe(3);
  });

  it("interleaves: ours first in even rounds, the baseline first in odd ones, prepare before each side", async () => {
    const order: string[] = [];
    const paired = await interleave(4, {
      prepare: async () => order.push("p"),
      ours: async () => {
        order.push("o");
        return 1;
      },
      base: async () => {
        order.push("b");
        return 2;
      },
    });
    expect(order.join("")).toBe("popb" + "pbpo" + "popb" + "pbpo");
    expect(paired).toEqual({ ours: [1, 1, 1, 1], base: [2, 2, 2, 2] });
  });

  it("computes medians of odd and even counts", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it.each([
    ["≤ 1.5×", { of: "ratio", compare: "<=", value: 1.5 }],
    [">= 0.8x", { of: "ratio", compare: ">=", value: 0.8 }],
    ["= 0", { of: "ours", compare: "=", value: 0 }],
    ["≤ 150", { of: "ours", compare: "<=", value: 150 }],
  ])("reads the target %s written as text", (text, target) => {
    expect(parseTarget(text)).toEqual(target);
  });

  it("keeps a row without a target as a failure, and refuses an unreadable target", () => {
    const untargeted = normaliseRow({ name: "relay", ours: 1, baseline: 2, ratio: 0.5, unit: "ms" });
    expect(untargeted.target).toBeNull();
    expect(verdict(untargeted)).toBe("FAIL");
    expect(() => normaliseRow({ name: "relay", ours: 1, unit: "ms", target: "fast" })).toThrow(
      /unreadable target/,
    );
  });

  it("accepts the short row shape other modules export", () => {
    const r = normaliseRow({
      name: "relay latency",
      ours: 3,
      baseline: 2,
      ratio: 1.5,
      unit: "ms",
      target: "≤ 2×",
    });
    expect(r).toEqual({
      name: "relay latency",
      unit: "ms",
      ours: 3,
      baselineName: "baseline",
      baseline: 2,
      ratio: 1.5,
      rounds: 1,
      target: { of: "ratio", compare: "<=", value: 2 },
    });
    expect(verdict(r)).toBe("PASS");
  });

  it("builds check rows without a baseline", () => {
    const r = checkRow({
      name: "writes",
      unit: "writes",
      ours: 0,
      target: { of: "ours", compare: "=", value: 0 },
    });
    expect(r).toMatchObject({ baseline: null, baselineName: null, ratio: null, rounds: 1 });
  });
});
