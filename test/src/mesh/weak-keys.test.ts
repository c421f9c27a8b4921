import { describe, expect, it } from "vitest";
import { generateKeyPair, isWeakPublicKey } from "../../../src/mesh/index.js";

const P = (1n << 255n) - 19n;

/** 32 little-endian bytes of `u`, base64, as a WireGuard key. */
function keyOf(u: bigint): string {
  const bytes = Buffer.alloc(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number((u >> BigInt(8 * i)) & 0xffn);
  return bytes.toString("base64");
}

const ORDER_8_A = 325606250916557431795983626356110631294008115727848805560023387167927233504n;
const ORDER_8_B = 39382357235489614581723060781553021112529911719440698176882885853963445705823n;
const TOP_BIT = 1n << 255n;

describe("isWeakPublicKey", () => {
  it.each([
    ["the all-zero key (order 4)", 0n],
    ["u = 1, the identity's image", 1n],
    ["u = p - 1 (order 2)", P - 1n],
    ["u = p, zero not reduced", P],
    ["u = p + 1, one not reduced", P + 1n],
    ["the first point of order 8", ORDER_8_A],
    ["the second point of order 8", ORDER_8_B],
    ["zero with bit 255 set, which X25519 ignores", TOP_BIT],
    ["u = 1 with bit 255 set", TOP_BIT + 1n],
    ["p - 1 with bit 255 set", TOP_BIT + P - 1n],
    ["the first point of order 8 with bit 255 set", TOP_BIT + ORDER_8_A],
    ["the second point of order 8 with bit 255 set", TOP_BIT + ORDER_8_B],
  ])("refuses %s", (_what, u) => {
    expect(isWeakPublicKey(keyOf(u))).toBe(true);
  });

  it.each([
    ["u = 2", 2n],
    ["u = 9, the base point", 9n],
    ["u = p - 2", P - 2n],
    ["u = p + 2 (2 not reduced)", P + 2n],
    ["the first point of order 8 plus one", ORDER_8_A + 1n],
  ])("takes %s", (_what, u) => {
    expect(isWeakPublicKey(keyOf(u))).toBe(false);
  });

  it("takes 200 freshly generated public keys", () => {
    for (let i = 0; i < 200; i++) expect(isWeakPublicKey(generateKeyPair().publicKey)).toBe(false);
  });

  it("answers false for what is not 32 bytes of base64", () => {
    expect(isWeakPublicKey("")).toBe(false);
    expect(isWeakPublicKey("AAAA")).toBe(false);
  });
});
