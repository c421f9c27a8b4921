/**
 * The userspace API reader's memo (`UapiPeerMemo`): which peers of the last `get=1` answer are
 * byte-identical in the next, so they are reused instead of parsed; and where peer blocks start and
 * end in an answer's bytes, which the parser in `uapi.ts` shares. Pure.
 */
import type { WgPeer } from "./types.js";

const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUES[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX_VALUES[97 + i] = 10 + i;
  HEX_VALUES[65 + i] = 10 + i;
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
export function peerStartsAt(body: Buffer, at: number): boolean {
  if (at + PEER_START_BYTES.length > body.length) return false;
  for (let i = 0; i < PEER_START_BYTES.length; i++) if (body[at + i] !== PEER_START_BYTES[i]) return false;
  return true;
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
export function peerEnd(body: Buffer, pos: number): number {
  const next = body.indexOf(NEXT_PEER_BYTES, pos);
  return next === -1 ? body.length : next + 1;
}
