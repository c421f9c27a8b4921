import { DomainError } from "../errors.js";
import { normaliseCidr } from "./address.js";
import { isWgKey } from "./keys.js";
import type { WgPeer, WgState } from "./types.js";

/**
 * Parser of `wg show <interface> dump`. The first line is the interface (private key, public key,
 * listen port, fwmark), each further line a peer (public key, preshared key, endpoint, allowed IPs,
 * latest handshake, rx, tx, keepalive), tab-separated, with `(none)` and `off` for absent values. Pure.
 */

function bad(message: string, line: number): DomainError {
  // No line content in the error: the first line holds the private key.
  return new DomainError("VALIDATION_FAILED", `wg dump line ${line}: ${message}`, { context: { line } });
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

/**
 * Parses the output of `wg show <interface> dump` (one interface, not `all`). The private key on the
 * first line is read past and never returned. Throws `DomainError` VALIDATION_FAILED for malformed
 * output.
 */
export function parseWgDump(text: string): WgState {
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
  for (let i = 1; i < lines.length; i++) {
    const f = lines[i]!.split("\t");
    const n = i + 1;
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
      allowedIps: allowed === "(none)" || allowed === "" ? [] : allowed.split(",").map(normaliseCidr),
      latestHandshake: intField(handshake, n, "latest handshake"),
      rxBytes: intField(rx, n, "rx bytes"),
      txBytes: intField(tx, n, "tx bytes"),
      persistentKeepalive: keepalive === "off" ? null : intField(keepalive, n, "keepalive") || null,
    };
    if (!peer.publicKey) throw bad("peer without a public key", n);
    state.peers.push(peer);
  }
  return state;
}

function parseFwmark(value: string, line: number): number | null {
  const n = /^0x[0-9a-f]+$/i.test(value) ? Number.parseInt(value, 16) : intField(value, line, "fwmark");
  return n === 0 ? null : n;
}
