import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import { allocateAddress, parseCidr } from "../../../src/mesh/index.js";
import { createAddressPool } from "../../../src/mesh/ipam.js";

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const exhausted = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof DomainError && err.code === "ADDRESS_POOL_EXHAUSTED";
  }
  return false;
};

describe("an address pool (the addresses of a network known at one version)", () => {
  it("gives the address after the hub's first, then the lowest free one as addresses are added", () => {
    const pool = createAddressPool(parseCidr("10.0.0.0/24"), ["10.0.0.1"]);
    expect(pool.lowestFree()).toBe("10.0.0.2");
    pool.add("10.0.0.2");
    pool.add("10.0.0.4");
    expect(pool.lowestFree()).toBe("10.0.0.3");
    pool.add("10.0.0.3");
    expect(pool.lowestFree()).toBe("10.0.0.5");
  });

  it("skips addresses claimed by enrollments in flight, without taking them", () => {
    const pool = createAddressPool(parseCidr("10.0.0.0/24"), ["10.0.0.2"]);
    expect(pool.lowestFree(["10.0.0.3", "10.0.0.4", "fd00::3"])).toBe("10.0.0.5");
    // A claim let go without its address being added (a failed enrollment) frees it again.
    expect(pool.lowestFree(["10.0.0.4"])).toBe("10.0.0.3");
  });

  it("ignores the hub's address, other families and other ranges, and refuses what is not an address", () => {
    const pool = createAddressPool(parseCidr("10.0.0.0/24"), ["10.0.0.1", "fd00::2", "10.0.1.2", "10.0.0.0"]);
    expect(pool.lowestFree()).toBe("10.0.0.2");
    expect(() => pool.add("not-an-ip")).toThrow();
  });

  it("works for IPv6, across the low 16-bit group, in any spelling", () => {
    const pool = createAddressPool(parseCidr("fd00:1::/64"), ["fd00:1::1"]);
    expect(pool.lowestFree()).toBe("fd00:1::2");
    for (let k = 2; k <= 0xffff; k++) pool.add(`fd00:1::${k.toString(16)}`);
    expect(pool.lowestFree()).toBe("fd00:1::1:0");
    pool.add("FD00:1:0:0:0:0:1:0");
    expect(pool.lowestFree(["fd00:1::1:1"])).toBe("fd00:1::1:2");
  });

  it("throws ADDRESS_POOL_EXHAUSTED when full, or when only claimed addresses are left", () => {
    const pool = createAddressPool(parseCidr("10.0.0.0/29"), [
      "10.0.0.2",
      "10.0.0.3",
      "10.0.0.4",
      "10.0.0.5",
    ]);
    expect(pool.lowestFree()).toBe("10.0.0.6");
    expect(exhausted(() => pool.lowestFree(["10.0.0.6"]))).toBe(true);
    pool.add("10.0.0.6");
    expect(exhausted(() => pool.lowestFree())).toBe(true);
    expect(
      exhausted(() => createAddressPool(parseCidr("fd00::/126"), ["fd00::2", "fd00::3"]).lowestFree()),
    ).toBe(true);
  });

  it("agrees with allocateAddress on random networks, additions and claims", () => {
    const next = random(2026);
    for (let round = 0; round < 200; round++) {
      const v6 = next() < 0.5;
      const prefix = v6 ? 120 + Math.floor(next() * 7) : 24 + Math.floor(next() * 6);
      const cidr = parseCidr(v6 ? `fd00:7::/${prefix}` : `10.9.0.0/${prefix}`);
      const size = 2 ** ((v6 ? 128 : 32) - prefix);
      const at = (k: number) => (v6 ? `fd00:7::${k.toString(16)}` : `10.9.${k >> 8}.${k & 255}`);
      const used: string[] = [];
      const pool = createAddressPool(cidr);
      for (let step = 0; step < size; step++) {
        const ip = at(1 + Math.floor(next() * (size - 1)));
        used.push(ip);
        pool.add(ip);
        const claimed = Array.from({ length: Math.floor(next() * 3) }, () =>
          at(1 + Math.floor(next() * (size - 1))),
        );
        let expected: string | undefined;
        try {
          expected = allocateAddress(cidr, [...used, ...claimed]);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) expect(exhausted(() => pool.lowestFree(claimed))).toBe(true);
        else expect(pool.lowestFree(claimed)).toBe(expected);
      }
    }
  });
});
