import { DomainError } from "../errors.js";
import { normaliseCidr, parseEndpoint } from "./address.js";
import { keyToHex, publicKeyOf } from "./keys.js";
import type { DesiredPeer, DeviceSettings, PeerUpdate, WgPeer, WgPlan, WgState } from "./types.js";
import { assertListenPort, normaliseFwmark, validatePlan } from "./validate.js";

/**
 * The cross-platform userspace API text (https://www.wireguard.com/xplatform/): `get=1` responses to
 * `WgState`, and `WgPlan`s to one `set=1` request. Keys are hex on this wire and base64 everywhere
 * else. Pure.
 */

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

const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUES[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUES[97 + i] = 10 + i;
  HEX_VALUES[65 + i] = 10 + i;
}
/** The 64 hex characters at `text[from, to)` as a base64 key. */
function hexKeyAt(text: string, from: number, to: number, what: string): string {
  const hex = text.slice(from, to);
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw fault(`userspace API ${what} is not 64 hex characters`);
  return Buffer.from(hex, "hex").toString("base64");
}

/**
 * What a reader keeps between `get=1`s: the previous answer's bytes, where each peer's lines sit in
 * them, and the peer parsed from those lines. A peer whose lines are byte-identical to the previous
 * get's, as an idle peer's are, is not parsed again, nor even decoded to text: on a 10,000-peer
 * interface that is most peers. Kept: without it a reconcile's CPU time was ~2.5× (no drift: 25.6 →
 * 8.9 ms) and the no-drift reconcile took 0.79× of `wg syncconf` instead of 0.49× (test/bench).
 * Holds no secret the caller does not already hold (preshared keys are in the peers either way).
 */
export class UapiPeerMemo {
  // Private: a logged or serialised driver shows none of it (the peers hold their preshared keys).
  /** The answer the blocks point into. Never written: whoever read it gave it to the memo. */
  #answer: Buffer | null = null;
  /** The answer before it, which nothing points into any more: the reader's to read into again. */
  #spare: Buffer | null = null;
  /** Where block `k`'s lines start in the answer; `#starts[k + 1]` is where they end. */
  #starts: number[] = [];
  /** The frozen peer parsed from block `k`'s lines. */
  #peers: WgPeer[] = [];
  /**
   * `memoId` → a block with that id. Two blocks on one id only cost a parse: lines are compared
   * whole before reuse.
   */
  #index = new Map<number, number>();

  /**
   * The peers of `answer[pos, end)` (each block starting at a `public_key` line): reused where a
   * peer's lines equal the previous answer's, else parsed from a copy of its lines with `parse`.
   * The memo then keeps `answer` (the caller must not write to it again; `takeSpare` hands back the
   * one it kept before). If `parse` throws, the memo keeps what it had: only complete answers change
   * which peers and which answer it holds.
   */
  read(answer: Buffer, pos: number, end: number, parse: (lines: string) => WgPeer): WgPeer[] {
    // An answer read into the very memory the memo holds has overwritten it: nothing to compare with.
    const previous = this.#answer !== null && !overlaps(answer, this.#answer) ? this.#answer : null;
    const was = this.#starts;
    const wasPeers = this.#peers;
    const wasIndex = previous === null ? new Map<number, number>() : this.#index;
    // Searches stop at the body's end: the bytes after it are whatever an earlier answer left there.
    const body = answer.subarray(0, end);
    // This answer's blocks, as the memo will keep them.
    const starts: number[] = [];
    const peers: WgPeer[] = [];
    const index = new Map<number, number>();
    while (pos < end) {
      const id = memoId(answer, pos);
      const k = wasIndex.get(id);
      let stop = -1;
      let peer: WgPeer | undefined;
      if (k !== undefined) {
        // Unchanged lines end where they ended last time, just before the next peer (or the end):
        // they are compared there without searching.
        const candidate = pos + was[k + 1]! - was[k]!;
        if (isUnchanged(body, previous!, was[k]!, pos, candidate)) {
          stop = candidate;
          peer = wasPeers[k]!;
        }
      }
      if (peer === undefined) {
        // Parsed from its own copy of its lines, so a peer kept while it stays idle keeps no answer.
        stop = peerEnd(body, pos);
        peer = parse(answer.toString("latin1", pos, stop));
      }
      if (!index.has(id)) index.set(id, peers.length);
      starts.push(pos);
      peers.push(peer);
      pos = stop;
    }
    // The answer is complete: the memo now holds it.
    starts.push(end);
    this.#starts = starts;
    this.#peers = peers;
    this.#index = index;
    this.#spare = previous;
    this.#answer = answer;
    // The caller's own array: what it does with it does not touch the memo's.
    return peers.slice();
  }

  /**
   * The answer the memo held before the last `read`, which it no longer reads: a reader can read its
   * next answer into it instead of allocating (and faulting in) a new buffer. Null when there is none
   * or it was taken.
   */
  takeSpare(): Buffer | null {
    const spare = this.#spare;
    this.#spare = null;
    return spare;
  }

  toJSON(): { peers: number } {
    return { peers: this.#peers.length };
  }
}

const PEER_START = "public_key=";
const PEER_START_BYTES = Buffer.from(PEER_START, "latin1");
const NEXT_PEER_BYTES = Buffer.from(`\n${PEER_START}`, "latin1");

/** True when `a` and `b` share any byte of memory. */
function overlaps(a: Buffer, b: Buffer): boolean {
  return (
    a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length
  );
}

/**
 * True when `body[from, to)` holds exactly the lines `previous` holds from `was`, and ends where a
 * peer (or the body) starts.
 */
function isUnchanged(body: Buffer, previous: Buffer, was: number, from: number, to: number): boolean {
  return (
    (to === body.length || (to < body.length && peerStartsAt(body, to))) &&
    body.compare(previous, was, was + (to - from), from, to) === 0
  );
}

/** True when `body[at…]` starts with `public_key=`. */
function peerStartsAt(body: Buffer, at: number): boolean {
  if (at + PEER_START_BYTES.length > body.length) return false;
  for (let i = 0; i < PEER_START_BYTES.length; i++) if (body[at + i] !== PEER_START_BYTES[i]) return false;
  return true;
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

/**
 * The memo's key of the peer whose lines start at `pos`: the first 7 hex digits of its key as a
 * number (a small integer: no string to allocate or hash). Not checked here; a block that is not
 * a valid peer is never reused, its lines match no block that parsed.
 */
function memoId(answer: Buffer, pos: number): number {
  let id = 0;
  const from = pos + PEER_START.length;
  for (let i = from; i < from + 7; i++) id = (id << 4) | ((HEX_VALUES[answer[i]!] ?? 0) & 15);
  return id;
}

/** Where the peer whose lines start at `pos` ends: at the next peer's `public_key`, or the end. */
function peerEnd(body: Buffer, pos: number): number {
  const next = body.indexOf(NEXT_PEER_BYTES, pos);
  return next === -1 ? body.length : next + 1;
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
 * One `key=value` line. IMPORTANT: the final guard against injection: every value has been validated
 * and normalised already, but a value holding a newline, `=` or NUL would start a new line or key on
 * this wire, so refuse it here too.
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
 * Builds the one `set=1` request that applies `plan`: removals, then updates (`update_only`), then
 * additions, ending in the blank line that terminates it. Validates the plan first (throws
 * VALIDATION_FAILED before anything is built). Hostname endpoints need `resolve`.
 * IMPORTANT: the text may hold preshared keys; never log it.
 */
export function buildUapiSet(plan: WgPlan, resolve: EndpointResolver = ipOnly): string {
  const p = validatePlan(plan);
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
