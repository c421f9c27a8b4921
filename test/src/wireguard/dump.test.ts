import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import { parseWgDump, WgDumpMemo } from "../../../src/wireguard/index.js";
import { externalMemoryAfterGc } from "../../support/memory.js";

const key = (n: number) => Buffer.alloc(32, n).toString("base64");
const PRIVATE = key(50);

// As `wg show wg0 dump` prints it: tabs, `(none)` and `off` for absent values.
const DUMP = [
  [PRIVATE, key(9), "51820", "off"],
  [key(1), "(none)", "192.0.2.1:51820", "10.0.0.2/32,fd00::2/128", "1700000000", "1234", "5678", "25"],
  [key(2), key(100), "(none)", "(none)", "0", "0", "0", "off"],
  [key(3), "(none)", "[2001:db8::1]:40000", "10.1.0.0/16", "0", "0", "0", "off"],
]
  .map((f) => f.join("\t"))
  .join("\n");

describe("parseWgDump", () => {
  it("reads the interface and every peer", () => {
    expect(parseWgDump(`${DUMP}\n`)).toEqual({
      publicKey: key(9),
      listenPort: 51820,
      fwmark: null,
      peers: [
        {
          publicKey: key(1),
          hasPresharedKey: false,
          presharedKey: null,
          endpoint: "192.0.2.1:51820",
          allowedIps: ["10.0.0.2/32", "fd00::2/128"],
          latestHandshake: 1700000000,
          rxBytes: 1234,
          txBytes: 5678,
          persistentKeepalive: 25,
        },
        {
          publicKey: key(2),
          hasPresharedKey: true,
          presharedKey: key(100),
          endpoint: null,
          allowedIps: [],
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: null,
        },
        {
          publicKey: key(3),
          hasPresharedKey: false,
          presharedKey: null,
          endpoint: "[2001:db8::1]:40000",
          allowedIps: ["10.1.0.0/16"],
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: null,
        },
      ],
    });
  });

  it("never returns the private key", () => {
    expect(JSON.stringify(parseWgDump(DUMP))).not.toContain(PRIVATE);
  });

  it("reads an interface without keys or peers", () => {
    expect(parseWgDump("(none)\t(none)\t47907\toff\n")).toEqual({
      publicKey: null,
      listenPort: 47907,
      fwmark: null,
      peers: [],
    });
  });

  it("reads a hex fwmark", () => {
    expect(parseWgDump(`(none)\t(none)\t1\t0xca6c\n`).fwmark).toBe(0xca6c);
  });

  it.each([
    ["empty output", ""],
    ["an interface line with too few fields", `${PRIVATE}\t(none)\t1`],
    ["a peer line with too few fields", `${PRIVATE}\t(none)\t1\toff\n${key(1)}\t(none)`],
    ["a malformed peer key", `${PRIVATE}\t(none)\t1\toff\nnot-a-key\t(none)\t(none)\t(none)\t0\t0\t0\toff`],
    [
      "a non-numeric counter",
      `${PRIVATE}\t(none)\t1\toff\n${key(1)}\t(none)\t(none)\t(none)\t0\tmany\t0\toff`,
    ],
    [
      "an allowed IP that is no CIDR",
      `${PRIVATE}\t(none)\t1\toff\n${key(1)}\t(none)\t(none)\t10.0.0.300/32\t0\t0\t0\toff`,
    ],
  ])("refuses %s as the interface's fault, without echoing the private key", (_name, text) => {
    let thrown: unknown;
    try {
      parseWgDump(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect((thrown as DomainError).code).toBe("INTERFACE_FAULT");
    expect(
      JSON.stringify({ m: (thrown as Error).message, c: (thrown as DomainError).context }),
    ).not.toContain(PRIVATE);
  });
});

describe("parseWgDump with a memo", () => {
  const HEAD = [PRIVATE, key(9), "51820", "off"].join("\t");
  const line = (n: number, rx = 0, ip = `10.0.0.${n}/32`) =>
    [key(n), "(none)", `192.0.2.${n}:51820`, ip, "0", String(rx), "0", "off"].join("\t");
  const dump = (...lines: string[]) => `${[HEAD, ...lines].join("\n")}\n`;
  // Keys alike in their first bytes (their first base64 digits) share the memo's entry.
  const twin = (n: number) => Buffer.alloc(32, 7).fill(n, 31).toString("base64");

  it("reuses peers whose lines are unchanged, frozen, and parses changed ones again", () => {
    const memo = new WgDumpMemo();
    const first = parseWgDump(dump(line(1), line(2), line(3)), memo);
    const second = parseWgDump(dump(line(3), line(2, 77), line(1)), memo);
    expect(second).toEqual(parseWgDump(dump(line(3), line(2, 77), line(1))));
    expect(second.peers[0]).toBe(first.peers[2]);
    expect(second.peers[2]).toBe(first.peers[0]);
    expect(second.peers[1]).not.toBe(first.peers[1]);
    expect(Object.isFrozen(second.peers[0]) && Object.isFrozen(second.peers[0]!.allowedIps)).toBe(true);
    expect(memo.toJSON()).toEqual({ peers: 3 });
  });

  it("reads what a parse without a memo reads, over dumps of peers joining, leaving, changing, and sharing an entry", () => {
    const memo = new WgDumpMemo();
    const twins = [twin(1), twin(2)].map((k, i) =>
      [k, "(none)", "(none)", `10.9.0.${i}/32`, "0", "0", "0", "off"].join("\t"),
    );
    const dumps = [
      dump(line(1), twins[0]!, line(2)),
      dump(twins[1]!, line(1), twins[0]!),
      dump(line(2, 5), twins[0]!),
      dump(twins[0]!, twins[1]!, line(2, 5), line(1, 1, "10.0.0.0/24")),
      dump(),
    ];
    for (const text of dumps) expect(parseWgDump(text, memo)).toEqual(parseWgDump(text));
    expect(memo.toJSON()).toEqual({ peers: 0 });
  });

  it("keeps the previous dump when a malformed one is refused", () => {
    const memo = new WgDumpMemo();
    const first = parseWgDump(dump(line(1)), memo);
    expect(() => parseWgDump(dump(line(1, 5), "not-a-key\t(none)"), memo)).toThrow(DomainError);
    expect(parseWgDump(dump(line(1)), memo).peers[0]).toBe(first.peers[0]);
  });

  it("keeps no dump alive, however many dumps its peers were parsed from", async () => {
    // 16,000 idle peers print ~1.25 MB, which Node reads into one external string; each dump adds a
    // peer, parsed from it and then kept while it stays idle.
    const idle = Array.from({ length: 16_000 }, (_, i) =>
      [
        Buffer.alloc(32, 0)
          .fill(i & 255, 0, 1)
          .fill(i >> 8, 1, 2)
          .toString("base64"),
        "(none)",
      ]
        .concat(["(none)", "10.0.0.1/32", "0", "0", "0", "off"])
        .join("\t"),
    );
    const joined: string[] = [];
    const read = () => parseWgDump(Buffer.from(dump(...idle, ...joined), "latin1").toString("latin1"), memo);
    const memo = new WgDumpMemo();
    read();
    const before = await externalMemoryAfterGc();
    for (let n = 1; n <= 40; n++) {
      joined.push(line(100 + n));
      expect(read().peers).toHaveLength(16_000 + n);
    }
    // Were every dump kept by a peer parsed from it, this would be ~50 MB.
    expect((await externalMemoryAfterGc()) - before).toBeLessThan(8 * 1024 * 1024);
  });
});
