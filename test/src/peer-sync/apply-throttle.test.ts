import { describe, expect, it } from "vitest";
import { applyTurn, createApplyThrottle, trailingWaitMs } from "../../../src/peer-sync/apply-throttle.js";

describe("applyTurn", () => {
  it.each([
    ["an idle interface never written runs at once", { busy: false, last: undefined }, 1_000, 250, "now"],
    [
      "an idle interface after a coalesced write long ago runs at once",
      { busy: false, last: 0 },
      250,
      250,
      "now",
    ],
    [
      "an idle interface just after a coalesced write coalesces",
      { busy: false, last: 0 },
      249,
      250,
      "coalesce",
    ],
    ["a busy interface coalesces", { busy: true, last: undefined }, 1_000, 250, "coalesce"],
    [
      "a busy interface long after its last coalesced write still coalesces",
      { busy: true, last: 0 },
      9e9,
      250,
      "coalesce",
    ],
    [
      "interval 0 runs a busy interface at once (queued behind the lock)",
      { busy: true, last: 0 },
      1,
      0,
      "now",
    ],
  ] as const)("%s", (_name, s, now, interval, expected) => {
    expect(applyTurn({ busy: s.busy, lastCoalescedWriteAt: s.last }, now, interval)).toBe(expected);
  });
});

describe("trailingWaitMs", () => {
  it.each([
    ["nothing written yet: no wait", undefined, 5, 250, 0],
    ["written 100 ms ago: waits the other 150 ms", 1_000, 1_100, 250, 150],
    ["written exactly one interval ago: no wait", 1_000, 1_250, 250, 0],
    ["written long ago: no wait", 1_000, 9_000, 250, 0],
  ] as const)("%s", (_name, last, now, interval, expected) => {
    expect(trailingWaitMs(last, now, interval)).toBe(expected);
  });
});

describe("createApplyThrottle", () => {
  /** A lock per interface like hub-interfaces' `exclusive`, and a hand-moved clock. */
  function harness(intervalMs: number) {
    let clock = 0;
    const locks = new Map<string, Promise<unknown>>();
    function exclusive<T>(iface: string, fn: () => Promise<T>): Promise<T> {
      const next = (locks.get(iface) ?? Promise.resolve()).catch(() => {}).then(fn);
      locks.set(iface, next);
      return next.finally(() => {
        if (locks.get(iface) === next) locks.delete(iface);
      });
    }
    const throttle = createApplyThrottle({
      intervalMs,
      isBusy: (iface) => locks.has(iface),
      exclusive,
      now: () => clock,
    });
    const runs: { coalesced: boolean }[] = [];
    const sync = (gate?: Promise<void>) => async (coalesced: boolean) => {
      runs.push({ coalesced });
      await gate;
      throttle.wrote("wg0", coalesced);
      return { run: runs.length };
    };
    const gate = () => {
      let open!: () => void;
      const closed = new Promise<void>((r) => {
        open = r;
      });
      return { closed, open };
    };
    return {
      throttle,
      runs,
      sync,
      gate,
      tick: (ms: number) => {
        clock += ms;
      },
    };
  }

  it("runs lone syncs one after another at once, even right after each other's writes", async () => {
    const h = harness(60_000);
    for (let i = 1; i <= 3; i++) {
      expect(await h.throttle.run("wg0", "k", h.sync())).toEqual({ run: i });
      h.tick(1);
    }
    expect(h.runs).toEqual([{ coalesced: false }, { coalesced: false }, { coalesced: false }]);
  });

  it("folds every sync arriving during a write into one shared trailing sync", async () => {
    const h = harness(250);
    const g = h.gate();
    const leading = h.throttle.run("wg0", "k", h.sync(g.closed));
    const trailing = [1, 2, 3, 4].map(() => h.throttle.run("wg0", "k", h.sync()));
    h.tick(250); // the leading write lands at 250, the trailing sync's turn comes one interval later
    g.open();
    expect(await leading).toEqual({ run: 1 });
    h.tick(250);
    const results = await Promise.all(trailing);
    expect(h.runs).toEqual([{ coalesced: false }, { coalesced: true }]);
    for (const r of results) expect(r).toBe(results[0]);
    expect(results[0]).toEqual({ run: 2 });
  });

  it("does not fold syncs of another key into the waiting trailing sync", async () => {
    const h = harness(250);
    const g = h.gate();
    const leading = h.throttle.run("wg0", "a", h.sync(g.closed));
    const a = h.throttle.run("wg0", "a", h.sync());
    const b = h.throttle.run("wg0", "b", h.sync());
    g.open();
    await leading;
    h.tick(10_000);
    expect(await a).toEqual({ run: 2 });
    h.tick(10_000);
    expect(await b).toEqual({ run: 3 });
    expect(h.runs).toEqual([{ coalesced: false }, { coalesced: true }, { coalesced: true }]);
  });

  it("keeps coalescing within the interval after a coalesced write, and runs at once after it", async () => {
    const h = harness(250);
    const g = h.gate();
    const leading = h.throttle.run("wg0", "k", h.sync(g.closed));
    const trailing = h.throttle.run("wg0", "k", h.sync());
    g.open();
    await leading;
    h.tick(300); // the trailing sync owes no wait when it takes its turn (a later microtask)
    await trailing;
    h.tick(10);
    // Idle, but 10 ms after a coalesced write: a burst is going on.
    const third = h.throttle.run("wg0", "k", h.sync());
    h.tick(1_000);
    await third;
    h.tick(250);
    await h.throttle.run("wg0", "k", h.sync());
    expect(h.runs.map((r) => r.coalesced)).toEqual([false, true, true, false]);
  });
});
