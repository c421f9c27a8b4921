/**
 * A network's hub peers read as text Postgres makes (`hubPeerRows` in mesh.repo.ts: a line per
 * node, in rows of lines), and the memo that turns only the lines that changed since the last read
 * into peers. Pure.
 */
import { NODE_STATUSES } from "../db/index.js";
import type { DesiredPeer } from "../wireguard/index.js";
import type { HubPeerRow } from "./mesh.repo.js";
import { desiredHubPeers } from "./render.js";

/** Between a line's fields. JSON-escaped text and the other fields' types never hold it (nor `\n`). */
export const HUB_PEER_FIELD_SEPARATOR = "\x1f";
const FIELDS = 9;
const STATUSES: ReadonlySet<string> = new Set(NODE_STATUSES);

function corrupt(why: string): Error {
  return new Error(`the hub peers' text from Postgres is malformed: ${why}`);
}

/** A text column as `to_json` spells it, empty for SQL null. */
function jsonText(field: string): string | null {
  if (field === "") return null;
  // A string without escapes (base64, hosts, ports) is the text between its quotes.
  if (field.charCodeAt(0) === 34 && field.charCodeAt(field.length - 1) === 34 && !field.includes("\\"))
    return field.slice(1, -1);
  const value: unknown = JSON.parse(field);
  if (typeof value !== "string") throw corrupt("a text column is not a JSON string");
  return value;
}

/** A text array as `array_to_json` spells it. */
function jsonTextArray(field: string): string[] {
  if (field === "[]") return [];
  const value: unknown = JSON.parse(field);
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string"))
    throw corrupt("extra allowed IPs are not a JSON array of strings");
  return value;
}

/**
 * One line of `hubPeerRows`: `id` (of a node whose preshared key is managed, else empty), `public_key, host(ip4), host(ip6), endpoint, extra_allowed_ips,
 * status, preshared_key_enc, preshared_key_managed`, separated by `HUB_PEER_FIELD_SEPARATOR`; text
 * columns as JSON strings, the array as a JSON array, an empty field for null, the boolean `t`/`f`. Throws when it is not.
 */
export function parseHubPeerLine(line: string): HubPeerRow {
  const f = line.split(HUB_PEER_FIELD_SEPARATOR);
  if (f.length !== FIELDS) throw corrupt(`a line has ${f.length} fields, not ${FIELDS}`);
  const [id, publicKey, ip4, ip6, endpoint, extra, status, pskEnc, managed] = f as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!STATUSES.has(status)) throw corrupt(`unknown node status ${JSON.stringify(status)}`);
  if (managed !== "t" && managed !== "f") throw corrupt("preshared_key_managed is not a boolean");
  const key = jsonText(publicKey);
  if (key === null || ip4 === "") throw corrupt("a node has no public key or no IPv4 address");
  return {
    id,
    publicKey: key,
    ip4,
    ip6: ip6 === "" ? null : ip6,
    endpoint: jsonText(endpoint),
    extraAllowedIps: jsonTextArray(extra),
    status: status as HubPeerRow["status"],
    presharedKeyEnc: jsonText(pskEnc),
    presharedKeyManaged: managed === "t",
  };
}

/** The peer, frozen with its allowed IPs (`desiredSet` trusts a frozen peer it saw to be unchanged); null for none. */
function frozen(peer: DesiredPeer | undefined): DesiredPeer | null {
  if (peer === undefined) return null;
  Object.freeze(peer.allowedIps);
  return Object.freeze(peer);
}

/**
 * The hub peers of one network from its last read: its rows, and per line the peer it made (null
 * for a disabled node). A read whose rows are the last one's returns the very same peers; otherwise
 * only the rows that changed are split, and only their lines not in the last read are parsed (an
 * enrollment at the highest address changes the last row of 500 lines, and adds one line). Equal lines make
 * equal peers: a line holds every column a peer is made of, and the preshared key it opens is
 * sealed in it. The peers are frozen, so a set made from them (`desiredSet`) can tell
 * the ones it saw before by identity. Measured at 10,000 nodes (load ~11 on 2 CPUs): `hubState` took 200–240 ms with a
 * drizzle row per node, 65 ms with this text (test/bench/README.md). IMPORTANT: the peers are shared
 * between reads; callers must not change them. Holds the opened preshared keys, as the peers do.
 */
export class HubPeerMemo {
  /** The last read's rows. */
  #rows: readonly string[] = [];
  /** Per row of the last read, the peer each of its lines made (null for a disabled node). */
  #made: readonly (readonly (DesiredPeer | null)[])[] = [];
  #peers: readonly DesiredPeer[] = [];

  /**
   * The peers of `rows` (`hubPeerRows`'), in their order, disabled nodes left out. A row equal to
   * the last read's row in its place keeps its peers without being split; the lines of the other
   * rows are looked up among the lines of the last read's rows that were not kept (a node joining
   * in the middle moves a line into each following row), and parsed only when new. `presharedKeyOf`
   * is `desiredHubPeers`'s. Throws when a line is malformed; the memo then keeps what it had.
   */
  read(
    rows: readonly string[],
    presharedKeyOf: (node: HubPeerRow) => string | null | undefined,
  ): readonly DesiredPeer[] {
    const was = this.#rows;
    const wasMade = this.#made;
    if (rows.length === was.length && rows.every((row, i) => row === was[i])) return this.#peers;
    let known: Map<string, DesiredPeer | null> | null = null;
    const knownLines = () => {
      if (known) return known;
      known = new Map();
      for (let j = 0; j < was.length; j++) {
        if (rows[j] === was[j]) continue;
        const lines = was[j]!.split("\n");
        for (let k = 0; k < lines.length; k++) known.set(lines[k]!, wasMade[j]![k]!);
      }
      return known;
    };
    const made = rows.map((row, i) => {
      if (row === was[i]) return wasMade[i]!;
      const lookup = knownLines();
      return row.split("\n").map((line) => {
        const peer = lookup.get(line);
        return peer !== undefined
          ? peer
          : frozen(desiredHubPeers([parseHubPeerLine(line)], presharedKeyOf)[0]);
      });
    });
    const peers: DesiredPeer[] = [];
    for (const row of made) for (const peer of row) if (peer !== null) peers.push(peer);
    this.#rows = rows.slice();
    this.#made = made;
    this.#peers = peers;
    return peers;
  }

  toJSON(): { peers: number } {
    return { peers: this.#peers.length };
  }
}
