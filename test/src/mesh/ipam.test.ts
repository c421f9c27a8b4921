import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import {
  allocateAddress,
  bigIntToIp,
  type Cidr,
  formatCidr,
  hubAddress,
  ipToBigInt,
  nodeCapacity,
  parseCidr,
  usableRange,
} from "../../../src/mesh/index.js";
import { createAddressPool } from "../../../src/mesh/ipam.js";

const alloc = (cidr: string, used: string[]) => allocateAddress(parseCidr(cidr), used);

/** The plain definition: sort what is taken, walk up from the address after the hub's. */
function lowestFreeByDefinition(c: Cidr, used: readonly string[]): string | null {
  const { first, last } = usableRange(c);
  const taken = used
    .map((ip) => ipToBigInt(ip))
    .filter((a) => a.family === c.family)
    .map((a) => a.value)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let candidate = first + 1n;
  for (const value of taken) if (value === candidate) candidate++;
  return candidate > last ? null : bigIntToIp(candidate, c.family);
}

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

describe("hubAddress", () => {
  it.each([
    ["the first host of a /24", "10.0.0.0/24", "10.0.0.1"],
    ["the first host of a /30", "192.168.7.4/30", "192.168.7.5"],
    ["the lower address of a /31 (RFC 3021)", "10.9.9.0/31", "10.9.9.0"],
    ["the only address of a /32", "10.9.9.9/32", "10.9.9.9"],
    ["::1 of an IPv6 /64", "fd00:1::/64", "fd00:1::1"],
    ["the first host of an IPv6 /126", "fd00::/126", "fd00::1"],
  ])("is %s", (_name, cidr, expected) => {
    expect(hubAddress(parseCidr(cidr))).toBe(expected);
  });
});

describe("allocateAddress", () => {
  it.each([
    ["gives the first node the address after the hub", "10.0.0.0/24", [], "10.0.0.2"],
    ["skips addresses in use", "10.0.0.0/24", ["10.0.0.2", "10.0.0.3"], "10.0.0.4"],
    ["reuses the lowest freed address", "10.0.0.0/24", ["10.0.0.2", "10.0.0.4"], "10.0.0.3"],
    ["ignores the hub's address when listed as used", "10.0.0.0/24", ["10.0.0.1"], "10.0.0.2"],
    ["ignores addresses of other families and ranges", "10.0.0.0/24", ["fd00::2", "10.0.1.2"], "10.0.0.2"],
    ["hands out the last host of a /30", "10.0.0.0/30", [], "10.0.0.2"],
    ["hands out the upper address of a /31", "10.0.0.0/31", [], "10.0.0.1"],
    [
      "never hands out the broadcast address of a /29",
      "10.0.0.0/29",
      ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5"],
      "10.0.0.6",
    ],
    ["works in IPv6", "fd00:1::/64", ["fd00:1::2"], "fd00:1::3"],
    [
      "crosses an IPv6 group boundary",
      "fd00::/112",
      Array.from({ length: 254 }, (_, i) => `fd00::${(i + 2).toString(16)}`),
      "fd00::100",
    ],
  ])("%s", (_name, cidr, used, expected) => {
    expect(alloc(cidr, used)).toBe(expected);
  });

  it.each([
    ["a /30 with its one node address taken", "10.0.0.0/30", ["10.0.0.2"]],
    ["a /31 with its node address taken", "10.0.0.0/31", ["10.0.0.1"]],
    ["a /32, which holds only the hub", "10.0.0.7/32", []],
    [
      "a /29 with all five node addresses taken",
      "10.0.0.0/29",
      ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"],
    ],
    ["an IPv6 /127, which holds only the hub", "fd00::/127", []],
  ])("throws ADDRESS_POOL_EXHAUSTED for %s", (_name, cidr, used) => {
    try {
      alloc(cidr, used);
      expect.unreachable("allocation should fail");
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as DomainError).code).toBe("ADDRESS_POOL_EXHAUSTED");
    }
  });

  it("agrees with the plain definition on random networks and addresses in every spelling", () => {
    const cidrs = [
      "10.0.0.0/24",
      "10.0.0.0/30",
      "10.0.0.0/31",
      "10.0.0.7/32",
      "172.16.0.0/12",
      "255.255.255.0/24",
      "fd00:1::/64",
      "fd00::/112",
      "fd00::ff00/120",
      "fd00::/126",
      "fd00::/127",
      "fd00::1/128",
      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120",
      "::/96",
    ];
    const next = random(42);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]!;
    const spellings = (value: bigint, family: 4 | 6): string[] => {
      const plain = bigIntToIp(value, family);
      if (family === 4) return [plain];
      const groups = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(16 * (7 - i))) & 0xffffn));
      const low32 = Number(value & 0xffffffffn);
      return [
        plain,
        plain.toUpperCase(),
        groups.map((g) => g.toString(16)).join(":"),
        groups.map((g) => g.toString(16).padStart(4, "0")).join(":"),
        `${groups
          .slice(0, 6)
          .map((g) => g.toString(16))
          .join(":")}:${[24, 16, 8, 0].map((s) => (low32 >>> s) & 255).join(".")}`,
      ];
    };
    for (let round = 0; round < 400; round++) {
      const c = parseCidr(pick(cidrs));
      const { first, last } = usableRange(c);
      const room = Number(last - first < 64n ? last - first : 64n);
      const used: string[] = [];
      const count = Math.floor(next() * (room + 3));
      for (let i = 0; i < count; i++) {
        const value = first + BigInt(Math.floor(next() * (room + 2)));
        if (value <= last) used.push(pick(spellings(value, c.family)));
      }
      if (next() < 0.3) used.push(c.family === 4 ? "fd00::2" : "10.0.0.2"); // the other family
      if (next() < 0.3) used.push(bigIntToIp(c.network, c.family));
      const expected = lowestFreeByDefinition(c, used);
      // Far inside the network, an address whose low bits are the free address's does not take it.
      if (expected !== null) {
        const shift = BigInt(pick(c.family === 4 ? [8, 16] : [32, 48, 64, 80]));
        const far = ipToBigInt(expected).value + (1n << shift);
        if (far <= last) used.push(pick(spellings(far, c.family)));
      }
      const context = `${formatCidr(c)} with ${JSON.stringify(used)}`;
      if (expected === null) expect(() => allocateAddress(c, used), context).toThrow(/no free/);
      else expect(allocateAddress(c, used), context).toBe(expected);
    }
  });

  it("refuses a used address that is not an address", () => {
    expect(() => alloc("10.0.0.0/24", ["10.0.0.2", "10.0.0.256"])).toThrow(/not an IP address/);
    expect(() => alloc("fd00::/64", ["fd00::2", "fd00:::3"])).toThrow(/not an IP address/);
  });

  it("never returns the network or broadcast address of a /24 however full", () => {
    const used: string[] = [];
    for (let i = 0; i < 253; i++) used.push(alloc("10.0.0.0/24", used));
    expect(used).not.toContain("10.0.0.0");
    expect(used).not.toContain("10.0.0.255");
    expect(new Set(used).size).toBe(253);
    expect(() => alloc("10.0.0.0/24", used)).toThrow(/no free IPv4 address/);
  });
});

describe("nodeCapacity and usableRange", () => {
  it.each([
    ["/24", "10.0.0.0/24", 253n],
    ["/29", "10.0.0.0/29", 5n],
    ["/30", "10.0.0.0/30", 1n],
    ["/31", "10.0.0.0/31", 1n],
    ["/32", "10.0.0.0/32", 0n],
    ["IPv6 /126", "fd00::/126", 2n],
  ])("a %s holds the expected number of nodes", (_name, cidr, expected) => {
    expect(nodeCapacity(parseCidr(cidr))).toBe(expected);
  });

  it("excludes the IPv6 subnet-router anycast address", () => {
    expect(usableRange(parseCidr("fd00::/64")).first).toBe(parseCidr("fd00::/64").network + 1n);
  });
});

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
