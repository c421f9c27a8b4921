/**
 * Reading wg-quick configs. Pure. The agent applies configs itself (interface, addresses, peers) and
 * never runs wg-quick, so hook keys (`PreUp`, `PostUp`, `PreDown`, `PostDown`) and anything unknown are
 * refused rather than ignored: a config that carries them did not come from wiresync.
 */

export interface WgQuickInterface {
  privateKey: string | undefined;
  addresses: string[];
  listenPort: number | undefined;
  dns: string[];
  mtu: number | undefined;
}

export interface WgQuickPeer {
  publicKey: string;
  allowedIps: string[];
  endpoint: string | undefined;
  persistentKeepalive: number | undefined;
  presharedKey: string | undefined;
}

export interface WgQuickConfig {
  interface: WgQuickInterface;
  peers: WgQuickPeer[];
}

const list = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

function integer(key: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${key} must be a whole number from ${min} to ${max}`);
  return n;
}

/** Parses a wg-quick config. Throws naming the line for anything it does not accept. */
export function parseWgQuickConfig(text: string): WgQuickConfig {
  const config: WgQuickConfig = {
    interface: { privateKey: undefined, addresses: [], listenPort: undefined, dns: [], mtu: undefined },
    peers: [],
  };
  let section: "interface" | "peer" | undefined;
  let peer: Partial<WgQuickPeer> | undefined;
  const finishPeer = () => {
    if (!peer) return;
    if (!peer.publicKey) throw new Error("a [Peer] section has no PublicKey");
    config.peers.push({
      publicKey: peer.publicKey,
      allowedIps: peer.allowedIps ?? [],
      endpoint: peer.endpoint,
      persistentKeepalive: peer.persistentKeepalive,
      presharedKey: peer.presharedKey,
    });
    peer = undefined;
  };

  for (const [index, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) continue;
    const where = `line ${index + 1}`;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      finishPeer();
      const name = header[1]!.toLowerCase();
      if (name === "interface") section = "interface";
      else if (name === "peer") {
        section = "peer";
        peer = {};
      } else throw new Error(`${where}: unknown section [${header[1]}]`);
      continue;
    }
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !section) throw new Error(`${where}: expected "Key = value" inside a section`);
    const key = kv[1]!.toLowerCase();
    const value = kv[2]!.trim();
    if (section === "interface") {
      const i = config.interface;
      if (key === "privatekey") i.privateKey = value;
      else if (key === "address") i.addresses.push(...list(value));
      else if (key === "listenport") i.listenPort = integer("ListenPort", value, 1, 65535);
      else if (key === "dns") i.dns.push(...list(value));
      else if (key === "mtu") i.mtu = integer("MTU", value, 576, 9000);
      else throw new Error(`${where}: ${kv[1]} is not accepted in [Interface]`);
    } else if (peer) {
      if (key === "publickey") peer.publicKey = value;
      else if (key === "allowedips") peer.allowedIps = [...(peer.allowedIps ?? []), ...list(value)];
      else if (key === "endpoint") peer.endpoint = value;
      else if (key === "persistentkeepalive")
        peer.persistentKeepalive = integer("PersistentKeepalive", value, 0, 65535);
      else if (key === "presharedkey") peer.presharedKey = value;
      else throw new Error(`${where}: ${kv[1]} is not accepted in [Peer]`);
    }
  }
  finishPeer();
  return config;
}
