import { DomainError } from "../errors.js";
import { detached, normaliseCidr } from "./address.js";
import { isWgKey } from "./keys.js";
import type { WgPeer, WgState } from "./types.js";

/**
 * Parser of `wg show <interface> dump`. The first line is the interface (private key, public key,
 * listen port, fwmark), each further line a peer (public key, preshared key, endpoint, allowed IPs,
 * latest handshake, rx, tx, keepalive), tab-separated, with `(none)` and `off` for absent values. Pure.
 */

function bad(message: string, line: number): DomainError {
  // No line content in the error: the first line holds the private key.
  return new DomainError("INTERFACE_FAULT", `wg dump line ${line}: ${message}`, { context: { line } });
}

function keyField(value: string, line: number, what: string): string | null {
  if (value === "(none)") return null;
  if (!isWgKey(value)) throw bad(`${what} is not a WireGuard key`, line);
  return value;
}

function intField(value: string, line: number, what: string): number {
  if (!/^\d+$/.test(value)) throw bad(`${what} is not a number`, line);
  return Number(value);
}

interface MemoEntry {
  /** The peer's dump line: a copy, sharing no memory with the dump it came in. */
  line: string;
  /** The frozen peer parsed from `line`. */
  peer: WgPeer;
  /** The last dump that printed `line`. */
  seen: number;
}

/**
 * What a reader of `wg show <interface> dump` keeps between dumps: each peer's line in the last dump
 * and the frozen peer parsed from it. An idle peer prints the same line dump after dump, so it is
 * not parsed again (parsing 10,000 peers costs ~15–20 ms), and it is the same object as last time,
 * which lets a desired set skip comparing it again (`PlanMemo.agreed`). Holds no secret the caller
 * does not already hold (preshared keys are in the peers either way); the private key is never kept.
 */
export class WgDumpMemo {
  // Private: a logged or serialised driver shows none of it (the peers hold their preshared keys).
  /** By `lineId`. Two peers on one id only cost parses: a line is compared whole before reuse. */
  readonly #entries = new Map<number, MemoEntry>();
  #generation = 0;

  /**
   * The peers of `lines` (dump line `first + i` for `lines[i]`): reused where the line equals the
   * last dump's, else parsed with `parse` from a copy of the line. If `parse` throws, the memo keeps
   * what it had: only complete dumps change which peers it holds.
   */
  read(lines: readonly string[], first: number, parse: (line: string, n: number) => WgPeer): WgPeer[] {
    const generation = ++this.#generation;
    const entries = this.#entries;
    const peers: WgPeer[] = [];
    const reused: MemoEntry[] = [];
    const parsed: { id: number; line: string; peer: WgPeer }[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const id = lineId(line);
      const entry = entries.get(id);
      if (entry !== undefined && entry.line === line) {
        reused.push(entry);
        peers.push(entry.peer);
        continue;
      }
      // A copy: the peer's strings are slices of it, and it may be kept for many dumps.
      const own = detached(line);
      const peer = parse(own, first + i);
      parsed.push({ id, line: own, peer });
      peers.push(peer);
    }
    for (const entry of reused) entry.seen = generation;
    let seen = reused.length;
    for (const { id, line, peer } of parsed) {
      const entry = entries.get(id);
      if (entry === undefined) {
        entries.set(id, { line, peer, seen: generation });
        seen++;
        continue;
      }
      if (entry.seen !== generation) seen++;
      entry.line = line;
      entry.peer = peer;
      entry.seen = generation;
    }
    // Peers gone from the interface are forgotten.
    if (entries.size > seen)
      for (const [id, entry] of entries) if (entry.seen !== generation) entries.delete(id);
    return peers;
  }

  toJSON(): { peers: number } {
    return { peers: this.#entries.size };
  }
}

/** Base64 digit values, for `lineId`. */
const BASE64_VALUES = new Int8Array(128);
for (const [i, c] of [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].entries())
  BASE64_VALUES[c.charCodeAt(0)] = i;

/** The memo's key of a peer line: the first 5 base64 digits of its public key as a number. */
function lineId(line: string): number {
  let id = 0;
  for (let i = 0; i < 5; i++) id = (id << 6) | (BASE64_VALUES[line.charCodeAt(i) & 127] ?? 0);
  return id;
}

/** An allowed IP as `wg` printed it, canonical; one it cannot have meant is the interface's fault. */
function dumpCidr(text: string, line: number): string {
  try {
    return normaliseCidr(text);
  } catch {
    throw bad("an allowed IP is not a CIDR", line);
  }
}

/**
 * Parses the output of `wg show <interface> dump` (one interface, not `all`). The private key on the
 * first line is read past and never returned. With a `memo`, peers whose lines are unchanged since
 * the previous dump are reused, not parsed, and the memo then holds this dump's; peers read with a
 * memo are frozen. Throws `DomainError` INTERFACE_FAULT for malformed output (the memo keeps the
 * previous dump's).
 */
export function parseWgDump(text: string, memo?: WgDumpMemo): WgState {
  const lines = text.split("\n").filter((l) => l.length > 0);
  const head = lines[0]?.split("\t");
  if (head?.length !== 4) throw bad("expected 4 interface fields", 1);
  const [, publicKey, listenPort, fwmark] = head as [string, string, string, string];
  const state: WgState = {
    publicKey: keyField(publicKey, 1, "public key"),
    listenPort: intField(listenPort, 1, "listen port"),
    fwmark: fwmark === "off" ? null : parseFwmark(fwmark, 1),
    peers: [],
  };
  const peerLines = lines.slice(1);
  if (memo) state.peers = memo.read(peerLines, 2, (line, n) => frozen(parsePeerLine(line, n)));
  else state.peers = peerLines.map((line, i) => parsePeerLine(line, i + 2));
  return state;
}

/** The peer of dump line number `n`. */
function parsePeerLine(line: string, n: number): WgPeer {
  const f = line.split("\t");
  if (f.length !== 8) throw bad("expected 8 peer fields", n);
  const [pub, psk, endpoint, allowed, handshake, rx, tx, keepalive] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const presharedKey = keyField(psk, n, "preshared key");
  const peer: WgPeer = {
    publicKey: keyField(pub, n, "public key") ?? "",
    hasPresharedKey: presharedKey !== null,
    presharedKey,
    endpoint: endpoint === "(none)" ? null : endpoint,
    allowedIps: allowed === "(none)" || allowed === "" ? [] : allowed.split(",").map((ip) => dumpCidr(ip, n)),
    latestHandshake: intField(handshake, n, "latest handshake"),
    rxBytes: intField(rx, n, "rx bytes"),
    txBytes: intField(tx, n, "tx bytes"),
    persistentKeepalive: keepalive === "off" ? null : intField(keepalive, n, "keepalive") || null,
  };
  if (!peer.publicKey) throw bad("peer without a public key", n);
  return peer;
}

/** `peer`, and its allowed IPs, frozen. */
function frozen(peer: WgPeer): WgPeer {
  Object.freeze(peer.allowedIps);
  return Object.freeze(peer);
}

function parseFwmark(value: string, line: number): number | null {
  const n = /^0x[0-9a-f]+$/i.test(value) ? Number.parseInt(value, 16) : intField(value, line, "fwmark");
  return n === 0 ? null : n;
}
