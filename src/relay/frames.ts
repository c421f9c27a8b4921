/**
 * The relay's wire format, shared by the server and the agent. Pure. A binary WebSocket message is
 * one WireGuard UDP datagram behind a 32-byte public key: from a node, the key of the peer it is for;
 * to a node, the key of the peer it comes from (the relay stamps it; a node cannot choose it).
 * Text messages carry control in JSON (`RelayControl`).
 */
import type { NatType } from "../nat/index.js";
import { NAT_TYPES } from "../nat/index.js";

/** A WireGuard public key is 32 bytes. */
export const KEY_BYTES = 32;
/** The largest datagram the relay carries: a UDP payload can be no larger. */
export const MAX_PAYLOAD_BYTES = 65_535;
/** The largest WebSocket message a relay peer accepts. */
export const MAX_FRAME_BYTES = KEY_BYTES + MAX_PAYLOAD_BYTES;

/** Control messages (text frames). */
export type RelayControl =
  /**
   * Server → node: the public keys of the nodes it may relay to (its network's other nodes), the
   * canonical NAT type of each of them that has one (`natTypes`), and the node's own (`ownNatType`).
   * Both NAT fields are absent from older servers' messages, and a key without a type is `unknown`.
   */
  | {
      type: "peers";
      publicKeys: string[];
      natTypes?: Record<string, NatType>;
      ownNatType?: NatType;
    }
  /** Node → server: send `peers` again (after the node's config changed). */
  | { type: "peers?" };

/** The relay's `peers` message. */
export type RelayPeers = Extract<RelayControl, { type: "peers" }>;

/** `key` (base64, 32 bytes) followed by `payload`. Throws for a key that is not 32 bytes. */
export function encodeFrame(key: string | Buffer, payload: Uint8Array): Buffer {
  const raw = typeof key === "string" ? Buffer.from(key, "base64") : key;
  if (raw.length !== KEY_BYTES) throw new Error(`a relay frame key is ${KEY_BYTES} bytes, not ${raw.length}`);
  return Buffer.concat([raw, payload]);
}

/**
 * The key (base64) and payload of a frame; undefined for a frame too short to hold a key and one
 * byte, or larger than `MAX_FRAME_BYTES`. The payload is a view into `frame`.
 */
export function decodeFrame(frame: Buffer): { key: string; payload: Buffer } | undefined {
  if (frame.length <= KEY_BYTES || frame.length > MAX_FRAME_BYTES) return undefined;
  return {
    key: frame.subarray(0, KEY_BYTES).toString("base64"),
    payload: frame.subarray(KEY_BYTES),
  };
}

/** A control message from a text frame; undefined for anything else. */
export function parseControl(text: string): RelayControl | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const message = value as { type?: unknown; publicKeys?: unknown; natTypes?: unknown; ownNatType?: unknown };
  if (message.type === "peers?") return { type: "peers?" };
  if (
    message.type !== "peers" ||
    !Array.isArray(message.publicKeys) ||
    !message.publicKeys.every((k) => typeof k === "string")
  )
    return undefined;
  const peers: RelayPeers = { type: "peers", publicKeys: message.publicKeys as string[] };
  // A NAT type this agent does not know (a newer server's) reads as no type: `unknown`.
  if (typeof message.natTypes === "object" && message.natTypes !== null)
    peers.natTypes = Object.fromEntries(
      Object.entries(message.natTypes).filter((entry): entry is [string, NatType] => isNatType(entry[1])),
    );
  if (isNatType(message.ownNatType)) peers.ownNatType = message.ownNatType;
  return peers;
}

const isNatType = (value: unknown): value is NatType => NAT_TYPES.includes(value as NatType);
