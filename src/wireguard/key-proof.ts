/**
 * Proof that whoever asks to replace a node's WireGuard key holds the current one. X25519 keys cannot
 * sign, so the proof is a MAC keyed with the Diffie-Hellman secret the node's current key shares with
 * its hub's key (the very secret WireGuard's handshake relies on): the node computes it with its
 * private key and the hub's public key, the server with the hub's private key and the node's public
 * key, and nobody else can.
 *
 *   secret = X25519(node private, hub public) = X25519(hub private, node public)
 *   proof  = base64(HMAC-SHA256(secret, "wiresync-key-rotation-v1\n" nodeId "\n" oldPublic "\n" newPublic))
 *
 * The proof names the node, its current key and the new one, so it cannot be moved to another node or
 * key, and it is good for one rotation only: once the new key is in place the old one is no longer the
 * node's key and the same proof is refused.
 */
import { createHmac, createPrivateKey, createPublicKey, diffieHellman, timingSafeEqual } from "node:crypto";
import { assertWgKey } from "./keys.js";

const PROOF_CONTEXT = "wiresync-key-rotation-v1";
/** DER headers of X25519 keys; the 32 raw key bytes follow. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");

/** The X25519 secret of a private and a public key (both base64). Throws VALIDATION_FAILED on a bad key. */
function sharedSecret(privateKey: string, publicKey: string): Buffer {
  const priv = Buffer.concat([PKCS8_PREFIX, Buffer.from(assertWgKey(privateKey, "private key"), "base64")]);
  const pub = Buffer.concat([SPKI_PREFIX, Buffer.from(assertWgKey(publicKey, "public key"), "base64")]);
  return diffieHellman({
    privateKey: createPrivateKey({ key: priv, format: "der", type: "pkcs8" }),
    publicKey: createPublicKey({ key: pub, format: "der", type: "spki" }),
  });
}

export interface KeyRotationClaim {
  nodeId: string;
  /** The node's current public key (base64). */
  oldPublicKey: string;
  /** The key it asks to move to (base64). */
  newPublicKey: string;
}

function mac(secret: Buffer, claim: KeyRotationClaim): Buffer {
  return createHmac("sha256", secret)
    .update(`${PROOF_CONTEXT}\n${claim.nodeId}\n${claim.oldPublicKey}\n${claim.newPublicKey}`)
    .digest();
}

/**
 * The node's side: the proof for `claim`, made with the node's current private key and its hub's
 * public key. Base64, 44 characters.
 */
export function signKeyRotation(
  claim: KeyRotationClaim,
  nodePrivateKey: string,
  hubPublicKey: string,
): string {
  return mac(sharedSecret(nodePrivateKey, hubPublicKey), claim).toString("base64");
}

/**
 * The server's side: true when `proof` was made for `claim` by the holder of the private key of
 * `claim.oldPublicKey`. Constant-time; a malformed proof is false, never an exception.
 */
export function verifyKeyRotation(claim: KeyRotationClaim, proof: string, hubPrivateKey: string): boolean {
  const given = Buffer.from(proof, "base64");
  if (given.length !== 32 || given.toString("base64") !== proof) return false;
  const expected = mac(sharedSecret(hubPrivateKey, claim.oldPublicKey), claim);
  return timingSafeEqual(given, expected);
}
