/**
 * Public keys no node may have. Pure. A Curve25519 point of small order (the identity, the point of
 * order 2, the points of order 4 and 8) makes every X25519 shared secret with it one of a handful of
 * known values, so a handshake with such a "key" is open to anyone: WireGuard itself refuses them
 * only at handshake time, after the peer is configured. Refused where a key is taken instead.
 */

/** p = 2^255 - 19, the field prime of Curve25519. */
const P = (1n << 255n) - 19n;

/**
 * u-coordinates of the points of small order, reduced mod p (libsodium's blacklist, and
 * RFC 7748 §6.1's warning): 0 and p-1 (orders 4 and 2), 1 (the identity's image), and the two
 * points of order 8.
 */
const SMALL_ORDER_U = new Set<bigint>([
  0n,
  1n,
  P - 1n,
  325606250916557431795983626356110631294008115727848805560023387167927233504n,
  39382357235489614581723060781553021112529911719440698176882885853963445705823n,
]);

/**
 * True when the base64 key `key` (32 bytes, little-endian u-coordinate) is a point of small order in
 * any of its encodings: X25519 ignores the top bit and reduces mod p, so `u`, `u + p` (where it
 * still fits) and either with bit 255 set all name the same point. False for anything that is not
 * 32 bytes of base64 (callers check the form first).
 */
export function isWeakPublicKey(key: string): boolean {
  const bytes = Buffer.from(key, "base64");
  if (bytes.length !== 32) return false;
  let u = 0n;
  for (let i = 31; i >= 0; i--) u = (u << 8n) | BigInt(i === 31 ? bytes[i]! & 0x7f : bytes[i]!);
  return SMALL_ORDER_U.has(u % P);
}
