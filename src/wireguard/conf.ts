/**
 * Reading a `wg0.conf` as `wg-quick` and `wg setconf` take it, for bringing an existing interface
 * under management. Pure and strict: every key it does not know is refused with its line number,
 * and keys, addresses, endpoints and numbers are checked as the data plane checks them. The
 * `wg-quick` keys of `[Interface]` (`Address`, `DNS`, `MTU`, `Table`, `PreUp`…`PostDown`,
 * `SaveConfig`) are accepted and only `Address`, `ListenPort` and `PrivateKey` are kept: the rest
 * belongs to the host. The `# comment` line right before a `[Peer]` header names that peer.
 */
import { DomainError } from "../errors.js";
import { normaliseCidr, normaliseInterfaceAddress, parseEndpoint } from "./address.js";
import { isWgKey } from "./keys.js";

/** One `[Peer]` of a wg0.conf, its values checked and canonical. */
export interface WgConfPeer {
  publicKey: string;
  /** Canonical CIDRs (host bits cleared), in file order, from every `AllowedIPs` line. */
  allowedIps: string[];
  endpoint: string | null;
  /** IMPORTANT: a secret; never log a `WgConfPeer` whole. */
  presharedKey: string | null;
  persistentKeepalive: number | null;
  /** The text of the comment line right before the `[Peer]` header, trimmed; null when none. */
  comment: string | null;
  /** 1-based line of the `[Peer]` header, for messages. */
  line: number;
}

export interface WgConf {
  interface: {
    /** IMPORTANT: a secret; never log it. */
    privateKey: string | null;
    listenPort: number | null;
    /** The interface's own addresses with their prefix length, host bits kept (`10.0.0.1/24`). */
    addresses: string[];
  };
  peers: WgConfPeer[];
}

/** `[Interface]` keys that configure the host, not WireGuard: accepted and not kept. */
const HOST_KEYS = new Set([
  "dns",
  "mtu",
  "table",
  "preup",
  "postup",
  "predown",
  "postdown",
  "saveconfig",
  "fwmark",
]);

/** The largest wg0.conf taken: 1 MiB holds several thousand peers with names. */
export const MAX_WG_CONF_BYTES = 1 << 20;

function refuse(line: number, message: string): never {
  throw new DomainError("VALIDATION_FAILED", `wg0.conf line ${line}: ${message}`, { context: { line } });
}

function whole(line: number, key: string, value: string, min: number, max: number): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) < min || Number(value) > max)
    refuse(line, `${key} must be a whole number from ${min} to ${max}`);
  return Number(value);
}

function key(line: number, name: string, value: string): string {
  // The value is never echoed: it may be a private or preshared key.
  if (!isWgKey(value)) refuse(line, `${name} is not a WireGuard key (44 characters of base64)`);
  return value;
}

function cidrs(line: number, value: string, normalise: (s: string) => string = normaliseCidr): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      try {
        return normalise(s);
      } catch {
        return refuse(line, `${JSON.stringify(s.slice(0, 60))} is not an address or CIDR`);
      }
    });
}

/**
 * Parses a wg0.conf (LF or CRLF, `#` comments, blank lines, repeated `AllowedIPs`/`Address` lines).
 * Returns the interface's kept values and every peer. Throws VALIDATION_FAILED naming the line for
 * an unknown section or key, a key outside a section, a value that does not check, a repeated
 * single-valued key, a peer without `PublicKey`, or two peers with one public key.
 */
export function parseWgConf(text: string): WgConf {
  const conf: WgConf = { interface: { privateKey: null, listenPort: null, addresses: [] }, peers: [] };
  let section: "interface" | "peer" | null = null;
  let sawInterface = false;
  let peer: (Partial<WgConfPeer> & { line: number; allowedIps: string[]; comment: string | null }) | null =
    null;
  /** The comment of the line just before, while no other line came in between. */
  let lastComment: string | null = null;
  const seen = new Set<string>();
  const keys = new Map<string, number>();

  const finishPeer = () => {
    if (!peer) return;
    if (!peer.publicKey) refuse(peer.line, "this [Peer] has no PublicKey");
    if (keys.has(peer.publicKey))
      refuse(peer.line, `this peer's PublicKey is also the peer's of line ${keys.get(peer.publicKey)}`);
    keys.set(peer.publicKey, peer.line);
    conf.peers.push({
      publicKey: peer.publicKey,
      allowedIps: peer.allowedIps,
      endpoint: peer.endpoint ?? null,
      presharedKey: peer.presharedKey ?? null,
      persistentKeepalive: peer.persistentKeepalive ?? null,
      comment: peer.comment,
      line: peer.line,
    });
    peer = null;
  };
  const once = (line: number, name: string) => {
    if (seen.has(name)) refuse(line, `${name} is given twice in one section`);
    seen.add(name);
  };

  for (const [index, raw] of text
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .entries()) {
    const n = index + 1;
    const hash = raw.indexOf("#");
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() : null;
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (!line) {
      // A blank line ends what a comment names; a comment-only line is the newest candidate.
      lastComment = comment !== null && comment !== "" ? comment : comment === null ? null : lastComment;
      continue;
    }
    const header = /^\[\s*([A-Za-z]+)\s*\]$/.exec(line);
    if (header) {
      finishPeer();
      seen.clear();
      const name = header[1]!.toLowerCase();
      if (name === "interface") {
        if (sawInterface) refuse(n, "a second [Interface] section");
        sawInterface = true;
        section = "interface";
      } else if (name === "peer") {
        section = "peer";
        peer = { line: n, allowedIps: [], comment: lastComment };
      } else refuse(n, `unknown section [${header[1]!.slice(0, 20)}]`);
      lastComment = null;
      continue;
    }
    lastComment = null;
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) refuse(n, 'expected "Key = value" or a [Section] header');
    if (!section) refuse(n, `${kv[1]} comes before any [Interface] or [Peer] section`);
    const name = kv[1]!.toLowerCase();
    const value = kv[2]!.trim();
    if (section === "interface") {
      if (name === "address") conf.interface.addresses.push(...cidrs(n, value, normaliseInterfaceAddress));
      else if (name === "privatekey") {
        once(n, "PrivateKey");
        conf.interface.privateKey = key(n, "PrivateKey", value);
      } else if (name === "listenport") {
        once(n, "ListenPort");
        conf.interface.listenPort = whole(n, "ListenPort", value, 1, 65535);
      } else if (!HOST_KEYS.has(name)) refuse(n, `${kv[1]} is not a key of [Interface]`);
    } else if (peer) {
      if (name === "allowedips") peer.allowedIps.push(...cidrs(n, value));
      else if (name === "publickey") {
        once(n, "PublicKey");
        peer.publicKey = key(n, "PublicKey", value);
      } else if (name === "presharedkey") {
        once(n, "PresharedKey");
        peer.presharedKey = key(n, "PresharedKey", value);
      } else if (name === "endpoint") {
        once(n, "Endpoint");
        try {
          parseEndpoint(value);
        } catch {
          refuse(n, "Endpoint must be host:port or [ipv6]:port");
        }
        peer.endpoint = value;
      } else if (name === "persistentkeepalive") {
        once(n, "PersistentKeepalive");
        peer.persistentKeepalive = value === "off" ? 0 : whole(n, "PersistentKeepalive", value, 0, 65535);
      } else refuse(n, `${kv[1]} is not a key of [Peer]`);
    }
  }
  finishPeer();
  return conf;
}
