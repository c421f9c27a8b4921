import { describe, expect, it } from "vitest";
import { pipelined } from "../../../src/db/index.js";
import { isStalePlan } from "../../../src/errors.js";

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));
const failLater = (ms: number, message: string) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms));

describe("pipelined", () => {
  it("returns every result, in order", async () => {
    await expect(pipelined([later(5, 1), later(1, "two")])).resolves.toEqual([1, "two"]);
  });

  it("throws the first failure in the order given, not the first in time", async () => {
    await expect(
      pipelined([failLater(20, "the cause"), failLater(1, "transaction aborted")]),
    ).rejects.toThrow("the cause");
    await expect(pipelined([later(1, 1), failLater(5, "second")])).rejects.toThrow("second");
  });
});

describe("isStalePlan", () => {
  it("knows a refused stale plan, also as the cause of a wrapped error", () => {
    const stale = Object.assign(new Error("cached plan must not change result type"), {
      code: "0A000",
      routine: "RevalidateCachedQuery",
    });
    expect(isStalePlan(stale)).toBe(true);
    expect(isStalePlan(new Error("Failed query: insert …", { cause: stale }))).toBe(true);
    expect(
      isStalePlan(Object.assign(new Error("aborted"), { code: "25P02", routine: "exec_bind_message" })),
    ).toBe(false);
    expect(isStalePlan(undefined)).toBe(false);
  });
});
