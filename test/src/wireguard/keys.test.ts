import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import {
  assertWgKey,
  generateKeyPair,
  generatePresharedKey,
  hexToKey,
  isWgKey,
  keyToHex,
  publicKeyOf,
  WG_KEY_PATTERN,
} from "../../../src/wireguard/index.js";

// RFC 7748 §6.1 test vector (Alice), in the base64 WireGuard uses.
const ALICE_PRIVATE = Buffer.from(
  "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
  "hex",
).toString("base64");
const ALICE_PUBLIC = Buffer.from(
  "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a",
  "hex",
).toString("base64");

function hasWg(): boolean {
  try {
    execFileSync("wg", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("WireGuard keys", () => {
  it.each([
    ["a base64 key of 32 bytes is a key", Buffer.alloc(32, 7).toString("base64"), true],
    ["43 characters without padding are not", Buffer.alloc(32, 7).toString("base64").slice(0, 43), false],
    ["a key whose last character carries stray bits is not", `${"A".repeat(42)}B=`, false],
    ["a key followed by a newline is not", `${Buffer.alloc(32, 7).toString("base64")}\n`, false],
    ["hex is not", "ab".repeat(32), false],
    ["45 characters are not", `${Buffer.alloc(32, 7).toString("base64")}=`, false],
    ["characters outside base64 are not", "UdSYczhkS/SMF9ZhroEyH2gpwSo/OjXtXJl/iEQi!AU=", false],
    ["an empty string is not", "", false],
  ])("%s", (_name, value, expected) => {
    expect(isWgKey(value)).toBe(expected);
  });

  it("converts between base64 and the hex of the userspace API both ways", () => {
    const k = Buffer.alloc(32, 0xab).toString("base64");
    expect(keyToHex(k)).toBe("ab".repeat(32));
    expect(hexToKey("AB".repeat(32))).toBe(k);
  });

  it("refuses hex of the wrong length without echoing it", () => {
    expect(() => hexToKey("ab".repeat(31), "preshared key")).toThrow(
      /preshared key is not 64 hex characters$/,
    );
  });

  it("names the field, not the value, when a key is malformed", () => {
    try {
      assertWgKey("secret-looking-value", "private key");
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DomainError);
      expect((err as Error).message).not.toContain("secret-looking-value");
    }
  });

  it("derives the RFC 7748 public key", () => {
    expect(publicKeyOf(ALICE_PRIVATE)).toBe(ALICE_PUBLIC);
  });

  it("generates clamped, distinct key pairs whose halves match", () => {
    const pairs = Array.from({ length: 20 }, () => generateKeyPair());
    for (const { privateKey, publicKey } of pairs) {
      expect(isWgKey(privateKey) && isWgKey(publicKey)).toBe(true);
      const raw = Buffer.from(privateKey, "base64");
      expect(raw[0]! & 7).toBe(0);
      expect(raw[31]! & 0xc0).toBe(0x40);
      expect(publicKeyOf(privateKey)).toBe(publicKey);
    }
    expect(new Set(pairs.map((p) => p.privateKey)).size).toBe(20);
    expect(isWgKey(generatePresharedKey())).toBe(true);
  });

  it.skipIf(!hasWg())("agrees with wg pubkey", () => {
    for (const { privateKey, publicKey } of [generateKeyPair(), generateKeyPair()])
      expect(execFileSync("wg", ["pubkey"], { input: privateKey }).toString().trim()).toBe(publicKey);
  });
});

describe("isWgKey", () => {
  it("agrees with WG_KEY_PATTERN on keys, near-keys and junk", () => {
    const samples: string[] = [];
    for (let i = 0; i < 300; i++) {
      const k = generatePresharedKey();
      samples.push(
        k,
        k.slice(1),
        `${k}=`,
        k.replace(/.(?==$)/, "B"),
        k.replace(/^./, "-"),
        k.replace(/^./, "é"),
      );
      samples.push(`${k.slice(0, 20)}\n${k.slice(21)}`, k.replace("=", "A"), k.toUpperCase());
    }
    for (const s of samples) expect(isWgKey(s), s).toBe(WG_KEY_PATTERN.test(s));
  });
});
