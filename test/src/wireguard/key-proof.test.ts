import { describe, expect, it } from "vitest";
import { generateKeyPair, signKeyRotation, verifyKeyRotation } from "../../../src/wireguard/index.js";

const NODE_ID = "6f1c2d3e-4a5b-4c6d-8e7f-901234567890";

describe("key rotation proof", () => {
  const hub = generateKeyPair();
  const oldKey = generateKeyPair();
  const newKey = generateKeyPair();
  const claim = { nodeId: NODE_ID, oldPublicKey: oldKey.publicKey, newPublicKey: newKey.publicKey };

  it("a proof made with the node's current private key and the hub's public key verifies with the hub's private key", () => {
    const proof = signKeyRotation(claim, oldKey.privateKey, hub.publicKey);
    expect(proof).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(verifyKeyRotation(claim, proof, hub.privateKey)).toBe(true);
  });

  it("is the same proof for the same claim (the node can retry after a lost answer)", () => {
    expect(signKeyRotation(claim, oldKey.privateKey, hub.publicKey)).toBe(
      signKeyRotation(claim, oldKey.privateKey, hub.publicKey),
    );
  });

  it.each([
    ["made with another private key than the current key's", () => generateKeyPair().privateKey, claim],
    ["made with the new key instead of the current one", () => newKey.privateKey, claim],
  ])("refuses a proof %s", (_name, signer, c) => {
    const proof = signKeyRotation(c, signer(), hub.publicKey);
    expect(verifyKeyRotation(claim, proof, hub.privateKey)).toBe(false);
  });

  it("refuses a proof made against another hub's key", () => {
    const proof = signKeyRotation(claim, oldKey.privateKey, generateKeyPair().publicKey);
    expect(verifyKeyRotation(claim, proof, hub.privateKey)).toBe(false);
  });

  it.each([
    ["another node", { ...claim, nodeId: "00000000-0000-4000-8000-000000000000" }],
    ["another new key", { ...claim, newPublicKey: generateKeyPair().publicKey }],
    ["another current key", { ...claim, oldPublicKey: generateKeyPair().publicKey }],
  ])("refuses a valid proof moved to %s", (_name, moved) => {
    const proof = signKeyRotation(claim, oldKey.privateKey, hub.publicKey);
    expect(verifyKeyRotation(moved, proof, hub.privateKey)).toBe(false);
  });

  it("refuses a replay after the rotation: the proof names the key that is no longer current", () => {
    const proof = signKeyRotation(claim, oldKey.privateKey, hub.publicKey);
    // After the rotation the server checks claims against the node's new current key.
    const replayed = { ...claim, oldPublicKey: newKey.publicKey };
    expect(verifyKeyRotation(replayed, proof, hub.privateKey)).toBe(false);
  });

  it.each([
    ["empty", ""],
    ["not base64", "!".repeat(44)],
    ["too short", Buffer.alloc(31, 1).toString("base64")],
    ["too long", Buffer.alloc(33, 1).toString("base64")],
    ["non-canonical base64", `${signKeyRotation(claim, oldKey.privateKey, hub.publicKey).slice(0, 43)}`],
  ])("answers false, not an exception, for a malformed proof (%s)", (_name, proof) => {
    expect(verifyKeyRotation(claim, proof, hub.privateKey)).toBe(false);
  });
});
