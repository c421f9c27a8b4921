import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import { parseWgConf } from "../../../src/wireguard/index.js";

const key = (n: number) => Buffer.alloc(32, n).toString("base64");

const CONF = [
  "# the hub of the office",
  "[Interface]",
  `PrivateKey = ${key(50)}`,
  "Address = 10.8.0.1/24",
  "Address = fd08::1/64",
  "ListenPort = 51820",
  "PostUp = iptables -A FORWARD -i %i -j ACCEPT",
  "SaveConfig = false",
  "",
  "# alice laptop",
  "[Peer]",
  `PublicKey = ${key(1)}`,
  "AllowedIPs = 10.8.0.2/32",
  "AllowedIPs = fd08::2/128, 192.168.50.0/24",
  "",
  "[Peer]  # no name here",
  `PublicKey=${key(2)}`,
  `PresharedKey = ${key(77)}`,
  "AllowedIPs = 10.8.0.3/32",
  "Endpoint = [2001:db8::7]:51820",
  "PersistentKeepalive = 25",
  "",
  "# bob phone",
  "",
  "[peer]",
  `PublicKey = ${key(3)}`,
  "allowedips = 10.8.0.4/32 # the phone",
  "Endpoint = vpn.example.com:4500",
  "",
].join("\n");

describe("parseWgConf", () => {
  it("reads the interface's kept values and every peer, with AllowedIPs from every line, canonical", () => {
    const conf = parseWgConf(CONF);
    expect(conf.interface).toEqual({
      privateKey: key(50),
      listenPort: 51820,
      addresses: ["10.8.0.1/24", "fd08::1/64"],
    });
    expect(conf.peers).toEqual([
      {
        publicKey: key(1),
        allowedIps: ["10.8.0.2/32", "fd08::2/128", "192.168.50.0/24"],
        endpoint: null,
        presharedKey: null,
        persistentKeepalive: null,
        comment: "alice laptop",
        line: 11,
      },
      {
        publicKey: key(2),
        allowedIps: ["10.8.0.3/32"],
        endpoint: "[2001:db8::7]:51820",
        presharedKey: key(77),
        persistentKeepalive: 25,
        comment: null,
        line: 16,
      },
      {
        publicKey: key(3),
        allowedIps: ["10.8.0.4/32"],
        endpoint: "vpn.example.com:4500",
        presharedKey: null,
        persistentKeepalive: null,
        // A blank line between the comment and the header: the comment names nothing.
        comment: null,
        line: 25,
      },
    ]);
  });

  it("reads CRLF line ends and a byte order mark the same as LF", () => {
    expect(parseWgConf(`\uFEFF${CONF.replaceAll("\n", "\r\n")}`)).toEqual(parseWgConf(CONF));
  });

  it("takes the comment line right before a header, the last of several", () => {
    const conf = parseWgConf(
      ["# old text", "# carol desktop", "[Peer]", `PublicKey = ${key(4)}`, "AllowedIPs = 10.8.0.9/32"].join(
        "\n",
      ),
    );
    expect(conf.peers.map((p) => p.comment)).toEqual(["carol desktop"]);
    expect(conf.interface).toEqual({ privateKey: null, listenPort: null, addresses: [] });
  });

  it("reads a file with peers only (as `wg showconf` of a key-less interface prints) and an empty file", () => {
    expect(parseWgConf(`[Peer]\nPublicKey = ${key(5)}\n`).peers).toHaveLength(1);
    expect(parseWgConf("").peers).toEqual([]);
    expect(parseWgConf("# nothing\n\n").peers).toEqual([]);
  });

  it.each([
    ["an unknown section", "[Wireguard]\n", /line 1: unknown section/],
    [
      "an unknown key in a peer",
      `[Peer]\nPublicKey = ${key(1)}\nPostUp = x\n`,
      /line 3: PostUp is not a key of \[Peer\]/,
    ],
    ["an unknown key in the interface", "[Interface]\nColour = red\n", /line 2: Colour is not a key/],
    ["a key before any section", "ListenPort = 1\n", /line 1: ListenPort comes before any/],
    ["a line that is no key", "[Peer]\njust words\n", /line 2: expected "Key = value"/],
    [
      "a peer without a public key",
      "[Peer]\nAllowedIPs = 10.0.0.2/32\n",
      /line 1: this \[Peer\] has no PublicKey/,
    ],
    ["a bad public key", "[Peer]\nPublicKey = abc\n", /line 2: PublicKey is not a WireGuard key/],
    [
      "a bad address",
      `[Peer]\nPublicKey = ${key(1)}\nAllowedIPs = 10.0.0.300/32\n`,
      /line 3: "10.0.0.300\/32" is not/,
    ],
    ["a bad endpoint", `[Peer]\nPublicKey = ${key(1)}\nEndpoint = nowhere\n`, /line 3: Endpoint must be/],
    ["a port out of range", "[Interface]\nListenPort = 70000\n", /line 2: ListenPort must be a whole number/],
    [
      "a repeated endpoint",
      `[Peer]\nPublicKey = ${key(1)}\nEndpoint = a.b:1\nEndpoint = a.b:2\n`,
      /line 4: Endpoint is given twice/,
    ],
    ["two interfaces", "[Interface]\n[Interface]\n", /line 2: a second \[Interface\]/],
    [
      "two peers with one key",
      `[Peer]\nPublicKey = ${key(1)}\n\n[Peer]\nPublicKey = ${key(1)}\n`,
      /line 4: this peer's PublicKey is also the peer's of line 1/,
    ],
  ])("refuses %s, naming the line", (_what, text, message) => {
    expect(() => parseWgConf(text)).toThrow(DomainError);
    expect(() => parseWgConf(text)).toThrow(message);
  });

  it("never echoes a key value in its errors", () => {
    const secret = `${key(9).slice(0, 40)}!!!=`;
    try {
      parseWgConf(`[Interface]\nPrivateKey = ${secret}\n`);
      expect.unreachable();
    } catch (err) {
      expect((err as Error).message).toBe(
        "wg0.conf line 2: PrivateKey is not a WireGuard key (44 characters of base64)",
      );
      expect(JSON.stringify(err)).not.toContain(secret.slice(0, 20));
    }
  });
});
