import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decodeFrame,
  encodeFrame,
  KEY_BYTES,
  MAX_FRAME_BYTES,
  MAX_PAYLOAD_BYTES,
  parseControl,
} from "../../../src/relay/index.js";

const key = randomBytes(KEY_BYTES).toString("base64");

describe("relay frames", () => {
  it("puts the 32-byte key before the payload, and reads both back", () => {
    const payload = randomBytes(148);
    const frame = encodeFrame(key, payload);
    expect(frame.length).toBe(KEY_BYTES + 148);
    const decoded = decodeFrame(frame)!;
    expect(decoded.key).toBe(key);
    expect(decoded.payload.equals(payload)).toBe(true);
  });

  it("refuses a key that is not 32 bytes", () => {
    expect(() => encodeFrame(randomBytes(31).toString("base64"), Buffer.from("x"))).toThrow(
      /32 bytes, not 31/,
    );
  });

  it.each([
    ["a key without payload", KEY_BYTES, false],
    ["a key and one byte", KEY_BYTES + 1, true],
    ["a key and 65,535 bytes", KEY_BYTES + MAX_PAYLOAD_BYTES, true],
    ["a key and 65,536 bytes", MAX_FRAME_BYTES + 1, false],
  ])("reads %s: %s", (_name, length, readable) => {
    expect(decodeFrame(randomBytes(length)) !== undefined).toBe(readable);
  });

  it.each([
    ['{"type":"peers?"}', { type: "peers?" }],
    ['{"type":"peers","publicKeys":["k1","k2"]}', { type: "peers", publicKeys: ["k1", "k2"] }],
    ['{"type":"peers","publicKeys":[1]}', undefined],
    [
      '{"type":"peers","publicKeys":["k1","k2"],"natTypes":{"k1":"symmetric"},"ownNatType":"full-cone"}',
      { type: "peers", publicKeys: ["k1", "k2"], natTypes: { k1: "symmetric" }, ownNatType: "full-cone" },
    ],
    [
      '{"type":"peers","publicKeys":["k1","k2"],"natTypes":{"k1":"Symmetric","k2":"cgnat"},"ownNatType":7}',
      { type: "peers", publicKeys: ["k1", "k2"], natTypes: {} },
    ],
    ['{"type":"other"}', undefined],
    ["not json", undefined],
    ["null", undefined],
  ])("reads the control message %s", (text, expected) => {
    expect(parseControl(text)).toEqual(expected);
  });
});
