/**
 * Memory held outside the JS heap (external strings, buffers) after a full garbage collection: for
 * tests that check a cache or memo does not keep large inputs alive. Deterministic enough to compare
 * against a threshold far from both outcomes.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

export function externalMemoryAfterGc(): number {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  return process.memoryUsage().external;
}

/**
 * A string of about `bytes` bytes that holds `inner` at `at`, made the way the drivers read answers
 * (a latin1 Buffer decoded at once), so that Node stores it outside the heap as one block.
 */
export function largeText(bytes: number, inner: string): { text: string; at: number } {
  const padding = "x".repeat(Math.max(0, bytes - inner.length - 2));
  return { text: Buffer.from(`${padding}\n${inner}\n`, "latin1").toString("latin1"), at: padding.length + 1 };
}
