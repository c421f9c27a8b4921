import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import { parseWgDump } from "../../../src/wireguard/index.js";

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
  ])("refuses %s without echoing the private key", (_name, text) => {
    let thrown: unknown;
    try {
      parseWgDump(text);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DomainError);
    expect(
      JSON.stringify({ m: (thrown as Error).message, c: (thrown as DomainError).context }),
    ).not.toContain(PRIVATE);
  });
});
