/**
 * The cross-platform userspace API text (https://www.wireguard.com/xplatform/): `get=1` responses to
 * `WgState`, and `CheckedPlan`s to one `set=1` request. Keys are hex on this wire and base64 everywhere
 * else. The reader's memo of unchanged peers is in `uapi-memo.ts`. Pure.
 */
import { DomainError } from "../errors.js";
import { normaliseCidr, parseEndpoint } from "./address.js";
import { keyToHex, publicKeyOf } from "./keys.js";
import type { CheckedPlan, DesiredPeer, DeviceSettings, PeerUpdate, WgPeer, WgState } from "./types.js";
import { peerEnd, peerStartsAt, type UapiPeerMemo } from "./uapi-memo.js";
import { assertListenPort, normaliseFwmark } from "./validate.js";

function bad(message: string, context: Record<string, unknown> = {}): DomainError {
  return new DomainError("VALIDATION_FAILED", message, { context });
}

/** The daemon's answer cannot be read: a fault of the interface, not of anything a client sent. */
function fault(message: string): DomainError {
  return new DomainError("INTERFACE_FAULT", message);
}

/**
 * The status of a complete response held in `answer[0, size)` (`…\nerrno=N\n\n`): where its body
 * (the `key=value` lines before the status, each ending in a newline) ends, and its errno. Read from
 * the bytes, so a large answer needs no string. Throws INTERFACE_FAULT when the status line is
 * missing.
 */
export function uapiStatus(answer: Uint8Array, size: number): { bodyEnd: number; errno: number } {
  let end = size;
  while (end > 0 && answer[end - 1] === LF) end--;
  let start = end;
  while (start > 0 && answer[start - 1] !== LF) start--;
  const line = Buffer.from(answer.buffer, answer.byteOffset + start, end - start).toString("latin1");
  const m = /^errno=(-?\d+)$/.exec(line);
  if (!m) throw fault("userspace API response has no errno line");
  return { bodyEnd: start, errno: Number(m[1]) };
}

/** `uapiStatus` of a response read as text: its body and its errno. */
export function splitUapiResponse(text: string): { body: string; errno: number } {
  const { bodyEnd, errno } = uapiStatus(Buffer.from(text, "latin1"), text.length);
  return { body: text.slice(0, bodyEnd), errno };
}

const LF = 10;
const ZERO_HEX = "0".repeat(64);

/** The decimal number in `text[from, to)`. Hand-rolled: ~60,000 of them per 10,000-peer dump. */
function uintAt(text: string, from: number, to: number, what: string): number {
  if (from >= to) throw fault(`userspace API ${what} is empty`);
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw fault(`userspace API ${what} is not a number`);
    n = n * 10 + d;
  }
  return n;
}

/** The 64 hex characters at `text[from, to)` as a base64 key. */
function hexKeyAt(text: string, from: number, to: number, what: string): string {
  const hex = text.slice(from, to);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw fault(`userspace API ${what} is not 64 hex characters`);
  return Buffer.from(hex, "hex").toString("base64");
}

/**
 * Parses the body of a `get=1` response (`key=value` lines) into a `WgState`. The private key is only
 * used to derive the public key (`derivePublicKey`: memoise it, it costs ~2 ms) and is not returned.
 * With a `memo`, peers whose lines are byte-identical to the previous get's are reused, not parsed,
 * and the memo then holds this get's. Peers are frozen: they may be shared between states.
 * Unknown keys are ignored, as the protocol asks. Throws INTERFACE_FAULT for malformed values.
 */
export function parseUapiGet(
  body: string,
  derivePublicKey: (privateKey: string) => string = publicKeyOf,
  memo?: UapiPeerMemo,
): WgState {
  return parseUapiAnswer(Buffer.from(body, "latin1"), body.length, derivePublicKey, memo);
}

/**
 * `parseUapiGet` of a body read as bytes, `answer[0, end)`, as a reader holds it: only the interface
 * lines and the peers not reused from `memo` are decoded to text. With a memo, the memo keeps
 * `answer` (see `UapiPeerMemo.read`).
 */
export function parseUapiAnswer(
  answer: Buffer,
  end: number,
  derivePublicKey: (privateKey: string) => string = publicKeyOf,
  memo?: UapiPeerMemo,
): WgState {
  const body = answer.subarray(0, end);
  // Interface lines come first; the first public_key starts the peers.
  const peersAt = peerStartsAt(body, 0) ? 0 : peerEnd(body, 0);
  const state = parseInterfaceLines(answer.toString("latin1", 0, peersAt), derivePublicKey);
  if (memo) state.peers = memo.read(answer, peersAt, end, (lines) => parsePeerBlock(lines, 0, lines.length));
  else
    for (let pos = peersAt; pos < end; ) {
      const stop = peerEnd(body, pos);
      const lines = answer.toString("latin1", pos, stop);
      state.peers.push(parsePeerBlock(lines, 0, lines.length));
      pos = stop;
    }
  return state;
}

/** The interface's lines of a get (those before its first peer), with no peers yet. */
function parseInterfaceLines(lines: string, derivePublicKey: (privateKey: string) => string): WgState {
  const state: WgState = { publicKey: null, listenPort: 0, fwmark: null, peers: [] };
  for (let pos = 0; pos < lines.length; ) {
    const { eq, nl } = lineAt(lines, pos);
    const v = eq + 1;
    switch (lines.slice(pos, eq)) {
      case "private_key": {
        const isZero = nl - v === 64 && lines.startsWith(ZERO_HEX, v);
        state.publicKey = isZero ? null : derivePublicKey(hexKeyAt(lines, v, nl, "private key"));
        break;
      }
      case "listen_port":
        state.listenPort = uintAt(lines, v, nl, "listen_port");
        break;
      case "fwmark":
        state.fwmark = uintAt(lines, v, nl, "fwmark") || null;
        break;
      default:
        break; // protocol_version and keys of future versions
    }
    pos = nl + 1;
  }
  return state;
}

/** The `=` and the end of the `key=value` line at `pos`, within `body[…, end)`. */
function lineAt(body: string, pos: number, end = body.length): { eq: number; nl: number } {
  let nl = body.indexOf("\n", pos);
  if (nl === -1 || nl > end) nl = end;
  const eq = body.indexOf("=", pos);
  if (eq <= pos || eq > nl) throw fault("userspace API line is not key=value");
  return { eq, nl };
}

/** An allowed IP as the daemon printed it, canonical; one it cannot have meant is its fault. */
function answerCidr(text: string): string {
  try {
    return normaliseCidr(text);
  } catch {
    throw fault(`userspace API allowed_ip "${text.slice(0, 60)}" is not a CIDR`);
  }
}

/** One peer's lines, `body[from, to)`, the first of them its `public_key`. */
function parsePeerBlock(body: string, from: number, to: number): WgPeer {
  let pos = from;
  let peer: WgPeer | null = null;
  // Values are sliced only when kept, numbers and keys decoded in place: a 10,000-peer interface
  // answers ~3 MB in ~100,000 lines.
  while (pos < to) {
    const { eq, nl } = lineAt(body, pos, to);
    const v = eq + 1;
    if (peer === null) {
      peer = {
        publicKey: hexKeyAt(body, v, nl, "peer public key"),
        hasPresharedKey: false,
        presharedKey: null,
        endpoint: null,
        allowedIps: [],
        latestHandshake: 0,
        rxBytes: 0,
        txBytes: 0,
        persistentKeepalive: null,
      };
      pos = nl + 1;
      continue;
    }
    switch (body.slice(pos, eq)) {
      case "allowed_ip":
        peer.allowedIps.push(answerCidr(body.slice(v, nl)));
        break;
      case "preshared_key":
        if (!(nl - v === 64 && body.startsWith(ZERO_HEX, v))) {
          peer.presharedKey = hexKeyAt(body, v, nl, "preshared key");
          peer.hasPresharedKey = true;
        }
        break;
      case "last_handshake_time_sec":
        peer.latestHandshake = uintAt(body, v, nl, "last_handshake_time_sec");
        break;
      case "last_handshake_time_nsec":
        // `wg show` reports whole seconds; so do we. Checked, then dropped.
        uintAt(body, v, nl, "last_handshake_time_nsec");
        break;
      case "rx_bytes":
        peer.rxBytes = uintAt(body, v, nl, "rx_bytes");
        break;
      case "tx_bytes":
        peer.txBytes = uintAt(body, v, nl, "tx_bytes");
        break;
      case "persistent_keepalive_interval":
        peer.persistentKeepalive = uintAt(body, v, nl, "persistent_keepalive_interval") || null;
        break;
      case "endpoint":
        peer.endpoint = body.slice(v, nl);
        break;
      default:
        break; // protocol_version, interface keys out of place, and keys of future versions
    }
    pos = nl + 1;
  }
  Object.freeze(peer!.allowedIps);
  return Object.freeze(peer!);
}

/**
 * One `key=value` line. IMPORTANT: the final guard against injection: every value of a plan was
 * checked when the plan was made (`CheckedPlan`), but a value holding a newline, `=` or NUL would
 * start a new line or key on this wire, so refuse it here too (a resolver's answer, or a cast).
 */
function line(key: string, value: string | number): string {
  const text = String(value);
  if (/[\n\r=\0]/.test(text)) throw bad(`refusing a ${key} value that could inject userspace API lines`);
  return `${key}=${text}\n`;
}

/** Maps an endpoint to what goes on the wire (a hostname must be resolved to `ip:port` first). */
export type EndpointResolver = (endpoint: string) => string;

const ipOnly: EndpointResolver = (endpoint) => {
  if (!parseEndpoint(endpoint).isIp) {
    throw bad("the userspace API takes IP endpoints only: resolve the hostname first", { endpoint });
  }
  return endpoint;
};

function endpointLine(endpoint: string, resolve: EndpointResolver): string {
  const wire = parseEndpoint(resolve(endpoint));
  if (!wire.isIp) throw bad("endpoint resolved to a hostname", { endpoint });
  return line("endpoint", wire.text);
}

function peerLines(p: DesiredPeer, resolve: EndpointResolver): string {
  let out = line("public_key", keyToHex(p.publicKey));
  // An add replaces allowed IPs, so re-applying it to a peer that exists converges instead of appending.
  out += line("replace_allowed_ips", "true");
  for (const ip of p.allowedIps) out += line("allowed_ip", ip);
  if (p.endpoint != null) out += endpointLine(p.endpoint, resolve);
  if (p.persistentKeepalive !== undefined)
    out += line("persistent_keepalive_interval", p.persistentKeepalive ?? 0);
  if (p.presharedKey !== undefined) {
    out += line("preshared_key", p.presharedKey === null ? "0".repeat(64) : keyToHex(p.presharedKey));
  }
  return out;
}

function updateLines(u: PeerUpdate, resolve: EndpointResolver): string {
  // update_only: if the peer vanished since the dump, do not resurrect it with half a config.
  let out = line("public_key", keyToHex(u.publicKey)) + line("update_only", "true");
  if (u.replaceAllowedIps) out += line("replace_allowed_ips", "true");
  for (const ip of u.allowedIps ?? []) out += line("allowed_ip", ip);
  if (u.endpoint !== undefined) out += endpointLine(u.endpoint, resolve);
  if (u.persistentKeepalive !== undefined)
    out += line("persistent_keepalive_interval", u.persistentKeepalive);
  if (u.presharedKey !== undefined) {
    out += line("preshared_key", u.presharedKey === null ? "0".repeat(64) : keyToHex(u.presharedKey));
  }
  return out;
}

/**
 * Builds the one `set=1` request that applies `p`: removals, then updates (`update_only`), then
 * additions, ending in the blank line that terminates it. The plan was checked when it was made;
 * hostname endpoints need `resolve` (throws VALIDATION_FAILED without one).
 * IMPORTANT: the text may hold preshared keys; never log it.
 */
export function buildUapiSet(p: CheckedPlan, resolve: EndpointResolver = ipOnly): string {
  const parts: string[] = ["set=1\n"];
  for (const key of p.remove) parts.push(line("public_key", keyToHex(key)) + line("remove", "true"));
  for (const u of p.update) parts.push(updateLines(u, resolve));
  for (const a of p.add) parts.push(peerLines(a, resolve));
  parts.push("\n");
  return parts.join("");
}

/** Builds a `set=1` request for interface-level settings only. IMPORTANT: may hold the private key. */
export function buildUapiDeviceSet(settings: DeviceSettings): string {
  let out = "set=1\n";
  if (settings.privateKey !== undefined)
    out += line("private_key", keyToHex(settings.privateKey, "private key"));
  if (settings.listenPort !== undefined) out += line("listen_port", assertListenPort(settings.listenPort));
  if (settings.fwmark !== undefined) out += line("fwmark", normaliseFwmark(settings.fwmark));
  return `${out}\n`;
}
