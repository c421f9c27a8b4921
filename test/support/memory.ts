/**
 * Memory held outside the JS heap (external strings, buffers) after full garbage collections: for
 * tests that check a cache or memo does not keep large inputs alive. Deterministic enough to compare
 * against a threshold far from both outcomes.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;

export async function externalMemoryAfterGc(): Promise<number> {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  // External strings are freed during a collection, but buffers' memory is freed by a background
  // thread after it: collect and wait until the figure stops falling.
  let last = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 20; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 10));
    const now = process.memoryUsage().external;
    if (now >= last) return now;
    last = now;
  }
  return last;
}

/**
 * A string of about `bytes` bytes that holds `inner` at `at`, made the way the drivers read answers
 * (a latin1 Buffer decoded at once), so that Node stores it outside the heap as one block.
 */
export function largeText(bytes: number, inner: string): { text: string; at: number } {
  const padding = "x".repeat(Math.max(0, bytes - inner.length - 2));
  return { text: Buffer.from(`${padding}\n${inner}\n`, "latin1").toString("latin1"), at: padding.length + 1 };
}
