import { describe, expect, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import type { WgPlan } from "../../../src/wireguard/index.js";
import {
  buildUapiDeviceSet,
  buildUapiSet,
  checkPlan,
  emptyPlan,
  generateKeyPair,
  keyToHex,
  parseUapiAnswer,
  parseUapiGet,
  splitUapiResponse,
  UapiPeerMemo,
  uapiStatus,
} from "../../../src/wireguard/index.js";
import { externalMemoryAfterGc } from "../../support/memory.js";

const key = (n: number) => Buffer.alloc(32, n).toString("base64");
const hex = (n: number) => Buffer.alloc(32, n).toString("hex");
const ZERO = "0".repeat(64);

describe("splitUapiResponse", () => {
  it.each([
    ["a set response", "errno=0\n\n", "", 0],
    ["a refusal (wireguard-go prints negative errnos)", "errno=-22\n\n", "", -22],
    ["a get response", "listen_port=51820\nerrno=0\n\n", "listen_port=51820\n", 0],
  ])("splits %s", (_name, text, body, errno) => {
    expect(splitUapiResponse(text)).toEqual({ body, errno });
  });

  it("refuses a response without a status line", () => {
    expect(() => splitUapiResponse("listen_port=1\n\n")).toThrow(
      expect.objectContaining({ code: "INTERFACE_FAULT" }),
    );
  });

  it("reads the status of the bytes it is given, not those an earlier answer left after them", () => {
    const answer = Buffer.from("listen_port=51820\nerrno=0\n\nerrno=-22\n\n", "latin1");
    expect(uapiStatus(answer, 27)).toEqual({ bodyEnd: 18, errno: 0 });
  });
});

describe("parseUapiGet", () => {
  it("reads what wireguard-go answers to get=1, converting hex keys to base64", () => {
    const { privateKey, publicKey } = generateKeyPair();
    const lines = [
      `private_key=${keyToHex(privateKey)}`,
      "listen_port=51820",
      "fwmark=0",
      `public_key=${hex(1)}`,
      `preshared_key=${ZERO}`,
      "protocol_version=1",
      "endpoint=192.0.2.1:51820",
      "last_handshake_time_sec=1700000000",
      "last_handshake_time_nsec=123",
      "tx_bytes=5678",
      "rx_bytes=1234",
      "persistent_keepalive_interval=25",
      "allowed_ip=10.0.0.2/32",
      "allowed_ip=fd00:0:0:1::/64",
      `public_key=${hex(2)}`,
      `preshared_key=${hex(100)}`,
      "protocol_version=1",
      "last_handshake_time_sec=0",
      "last_handshake_time_nsec=0",
      "tx_bytes=0",
      "rx_bytes=0",
      "persistent_keepalive_interval=0",
      "some_future_key=ignored",
    ];
    const state = parseUapiGet(`${lines.join("\n")}\n`);
    expect(state).toEqual({
      publicKey,
      listenPort: 51820,
      fwmark: null,
      peers: [
        {
          publicKey: key(1),
          hasPresharedKey: false,
          presharedKey: null,
          endpoint: "192.0.2.1:51820",
          allowedIps: ["10.0.0.2/32", "fd00:0:0:1::/64"],
          latestHandshake: 1700000000,
          rxBytes: 1234,
          txBytes: 5678,
          persistentKeepalive: 25,
        },
        {
          publicKey: key(2),
          hasPresharedKey: true,
          presharedKey: key(100),
          endpoint: null,
          allowedIps: [],
          latestHandshake: 0,
          rxBytes: 0,
          txBytes: 0,
          persistentKeepalive: null,
        },
      ],
    });
    expect(JSON.stringify(state)).not.toContain(privateKey);
  });

  it("reads an interface without a private key", () => {
    expect(parseUapiGet("")).toEqual({ publicKey: null, listenPort: 0, fwmark: null, peers: [] });
  });

  it.each([
    ["a line without =", "listen_port\n"],
    ["a line starting with =", "=1\n"],
    ["a malformed peer key", "public_key=xyz\n"],
    ["a peer key with a stray character", `public_key=${hex(1).slice(0, 63)}g\n`],
    ["a non-numeric counter", `public_key=${hex(1)}\nrx_bytes=lots\n`],
    ["a negative counter", `public_key=${hex(1)}\nrx_bytes=-1\n`],
    ["an empty counter", `public_key=${hex(1)}\nrx_bytes=\n`],
    ["an allowed IP that is no CIDR", `public_key=${hex(1)}\nallowed_ip=10.0.0.300/32\n`],
  ])(
    "refuses %s as the interface's fault (INTERFACE_FAULT, not the client's VALIDATION_FAILED)",
    (_name, body) => {
      expect(() => parseUapiGet(body)).toThrow(DomainError);
      expect(() => parseUapiGet(body)).toThrow(expect.objectContaining({ code: "INTERFACE_FAULT" }));
    },
  );
});

describe("parseUapiGet with a memo", () => {
  const block = (keyHex: string, rx: number, ip: string) =>
    [
      `public_key=${keyHex}`,
      `preshared_key=${ZERO}`,
      "protocol_version=1",
      "last_handshake_time_sec=0",
      "last_handshake_time_nsec=0",
      "tx_bytes=0",
      `rx_bytes=${rx}`,
      "persistent_keepalive_interval=0",
      `allowed_ip=${ip}`,
      "",
    ].join("\n");
  const body = (...blocks: string[]) => `listen_port=51820\n${blocks.join("")}`;
  // Two keys that share their first 16 hex digits: the memo's index collides on them.
  const twinA = `${"ab".repeat(8)}${"01".repeat(24)}`;
  const twinB = `${"ab".repeat(8)}${"02".repeat(24)}`;

  it("reuses peers whose lines are unchanged, in any order, and parses changed ones again", () => {
    const memo = new UapiPeerMemo();
    const first = parseUapiGet(
      body(block(hex(1), 0, "10.0.0.1/32"), block(hex(2), 0, "10.0.0.2/32")),
      undefined,
      memo,
    );
    const second = parseUapiGet(
      body(block(hex(2), 7, "10.0.0.2/32"), block(hex(3), 0, "10.0.0.3/32"), block(hex(1), 0, "10.0.0.1/32")),
      undefined,
      memo,
    );
    expect(second.peers.map((p) => p.publicKey)).toEqual([key(2), key(3), key(1)]);
    expect(second.peers[2]).toBe(first.peers[0]); // unchanged: the same object
    expect(second.peers[0]).not.toBe(first.peers[1]); // rx_bytes changed: parsed again
    expect(second.peers[0]!.rxBytes).toBe(7);
    expect(Object.isFrozen(second.peers[2])).toBe(true);
  });

  it("reads exactly what a parse without a memo reads, also for keys whose prefixes collide", () => {
    const memo = new UapiPeerMemo();
    const texts = [
      body(block(twinA, 1, "10.0.0.1/32"), block(twinB, 2, "10.0.0.2/32")),
      body(block(twinB, 2, "10.0.0.2/32"), block(twinA, 1, "10.0.0.1/32")),
      body(block(twinB, 3, "10.0.0.9/32"), block(twinA, 1, "10.0.0.1/32"), block(hex(4), 0, "10.0.0.4/32")),
      body(block(twinA, 1, "10.0.0.1/32")),
    ];
    for (const text of texts) expect(parseUapiGet(text, undefined, memo)).toEqual(parseUapiGet(text));
  });

  it("parses a peer again when lines were added after its old ones, and forgets peers that left", () => {
    const memo = new UapiPeerMemo();
    const a = block(hex(1), 0, "10.0.0.1/32");
    const first = parseUapiGet(body(a, block(hex(2), 0, "10.0.0.2/32")), undefined, memo);
    // Peer 1's old lines are a prefix of its new ones, and peer 2 is gone.
    const grown = `${a}allowed_ip=10.0.9.0/24\n`;
    const second = parseUapiGet(body(grown), undefined, memo);
    expect(second.peers[0]).not.toBe(first.peers[0]);
    expect(second.peers[0]!.allowedIps).toEqual(["10.0.0.1/32", "10.0.9.0/24"]);
    expect(memo.toJSON()).toEqual({ peers: 1 });
    // Peer 2 comes back with the very lines it had: it was forgotten, so it is parsed afresh.
    const third = parseUapiGet(body(grown, block(hex(2), 0, "10.0.0.2/32")), undefined, memo);
    expect(third.peers[0]).toBe(second.peers[0]);
    expect(third.peers[1]).not.toBe(first.peers[1]);
    expect(third).toEqual(parseUapiGet(body(grown, block(hex(2), 0, "10.0.0.2/32"))));
  });

  it("keeps only the latest answers alive, however many answers its peers were parsed from", async () => {
    // 4,000 idle peers make an answer of ~1.3 MB, read into a buffer of its own each time (as a
    // driver that never takes the spare would); each answer adds one peer, parsed from it and then
    // kept while it stays idle.
    const distinct = (i: number) => i.toString(16).padStart(4, "0").repeat(16);
    const idle = Array.from({ length: 4000 }, (_, i) => block(distinct(i), 0, "10.0.0.1/32")).join("");
    const joined: string[] = [];
    const read = () => {
      const answer = Buffer.from(body(idle, ...joined), "latin1");
      return parseUapiAnswer(answer, answer.length, undefined, memo);
    };
    const memo = new UapiPeerMemo();
    read();
    const before = await externalMemoryAfterGc();
    for (let n = 1; n <= 40; n++) {
      joined.push(block(distinct(0x8000 + n), 0, `10.200.100.${n}/32`));
      expect(read().peers).toHaveLength(4000 + n);
    }
    // Were every answer kept, this would be ~50 MB.
    expect((await externalMemoryAfterGc()) - before).toBeLessThan(8 * 1024 * 1024);
  });

  it("is not misled by a caller that reorders the peers it was given", () => {
    const memo = new UapiPeerMemo();
    const text = body(block(hex(1), 0, "10.0.0.1/32"), block(hex(2), 0, "10.0.0.2/32"));
    parseUapiGet(text, undefined, memo).peers.reverse();
    expect(parseUapiGet(text, undefined, memo)).toEqual(parseUapiGet(text));
  });

  it("reads an answer held in a larger buffer only up to its end", () => {
    const text = body(block(hex(1), 0, "10.0.0.1/32"), block(hex(2), 0, "10.0.0.2/32"));
    // What an earlier, longer answer left in the buffer after this one: another peer.
    const stale = block(hex(3), 0, "10.0.0.3/32");
    const buffer = Buffer.from(`${text}${stale}`, "latin1");
    const memo = new UapiPeerMemo();
    expect(parseUapiAnswer(buffer, text.length)).toEqual(parseUapiGet(text));
    expect(parseUapiAnswer(buffer, text.length, undefined, memo)).toEqual(parseUapiGet(text));
    // Peer 2's lines end the body: they are not taken to run on into the stale bytes.
    const again = Buffer.from(`${text}${stale}`, "latin1");
    expect(parseUapiAnswer(again, text.length, undefined, memo).peers).toHaveLength(2);
  });

  it("does not take bytes after an answer's end for a line a peer had before", () => {
    const memo = new UapiPeerMemo();
    const extra = "allowed_ip=10.0.9.0/24\n";
    const one = block(hex(1), 0, "10.0.0.1/32");
    const two = block(hex(2), 0, "10.0.0.2/32");
    parseUapiGet(body(one, `${two}${extra}`), undefined, memo);
    // Peer 2 lost its last line; the buffer still holds it after the answer's end.
    const text = body(one, two);
    const buffer = Buffer.from(`${text}${extra}`, "latin1");
    expect(parseUapiAnswer(buffer, text.length, undefined, memo)).toEqual(parseUapiGet(text));
  });

  it("reads an answer right when it was read into the very memory the memo holds", () => {
    const memo = new UapiPeerMemo();
    const a = body(block(hex(1), 0, "10.0.0.1/32"), block(hex(2), 0, "10.0.0.2/32"));
    // Peer 1 changed where it stood: compared with its old place, now holding its new lines, it
    // would look unchanged.
    const b = body(block(hex(1), 9, "10.0.0.1/32"), block(hex(2), 0, "10.0.0.2/32"));
    const buffer = Buffer.alloc(a.length);
    buffer.write(a, "latin1");
    parseUapiAnswer(buffer, a.length, undefined, memo);
    buffer.write(b, "latin1"); // overwrites the answer the memo compares with
    expect(parseUapiAnswer(buffer, b.length, undefined, memo)).toEqual(parseUapiGet(b));
  });

  it("hands back the answer it let go, once", () => {
    const memo = new UapiPeerMemo();
    const text = body(block(hex(1), 0, "10.0.0.1/32"));
    const first = Buffer.from(text, "latin1");
    const second = Buffer.from(text, "latin1");
    parseUapiAnswer(first, text.length, undefined, memo);
    expect(memo.takeSpare()).toBeNull();
    const reused = parseUapiAnswer(second, text.length, undefined, memo).peers[0];
    expect(memo.takeSpare()).toBe(first);
    expect(memo.takeSpare()).toBeNull();
    // The memo compares with `second` now: `first` may be written over.
    first.fill(0);
    expect(parseUapiAnswer(Buffer.from(text, "latin1"), text.length, undefined, memo).peers[0]).toBe(reused);
  });

  it("compares runs of neighbours at once, and still finds a peer that changed inside a run or after it", () => {
    const memo = new UapiPeerMemo();
    const blocks = [1, 2, 3, 4, 5, 6].map((n) => block(hex(n), 0, `10.0.0.${n}/32`));
    const first = parseUapiGet(body(...blocks), undefined, memo);
    // Same order, the third peer changed, the last one gained a line after its old ones.
    const changed = [...blocks];
    changed[2] = block(hex(3), 9, "10.0.0.3/32");
    changed[5] = `${blocks[5]}allowed_ip=10.9.0.0/24\n`;
    const second = parseUapiGet(body(...changed), undefined, memo);
    expect(second).toEqual(parseUapiGet(body(...changed)));
    expect(second.peers.map((p, i) => p === first.peers[i])).toEqual([true, true, false, true, true, false]);
    // Rotated, as Go's map order rotates: every peer is the one read before.
    const rotated = [...changed.slice(4), ...changed.slice(0, 4)];
    const third = parseUapiGet(body(...rotated), undefined, memo);
    expect(third.peers).toEqual([4, 5, 0, 1, 2, 3].map((i) => second.peers[i]));
  });

  it("reads what a parse without a memo reads, over many answers of peers joining, leaving, changing and moving", () => {
    // A deterministic shuffle of a pool of peers, some of them sharing the memo's id.
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const keys = Array.from({ length: 40 }, (_, i) =>
      i % 10 === 9 ? `${"ab".repeat(8)}${i.toString(16).padStart(2, "0").repeat(24)}` : hex(i + 1),
    );
    // Keys sharing their first 7 hex digits share an entry: they cost parses, so are not counted on.
    const twins = new Set(keys.filter((k) => keys.some((o) => o !== k && o.slice(0, 7) === k.slice(0, 7))));
    const memo = new UapiPeerMemo();
    let previous = new Map<string, { lines: string; peer: unknown }>();
    for (let round = 0; round < 200; round++) {
      const chosen = keys
        .filter(() => random() < 0.8)
        .map((k, i) => ({ k, lines: block(k, random() < 0.1 ? round : 0, `10.0.${i % 3}.1/32`) }))
        // Runs of neighbours mostly kept, now and then cut and moved, as in Go's map order.
        .sort(() => (random() < 0.15 ? random() - 0.5 : 0));
      const text = body(...chosen.map((c) => c.lines));
      const state = parseUapiGet(text, undefined, memo);
      expect(state).toEqual(parseUapiGet(text));
      const now = new Map(chosen.map((c, i) => [c.k, { lines: c.lines, peer: state.peers[i] as unknown }]));
      // A peer whose lines did not change is the very object read before.
      for (const [k, { lines, peer }] of now)
        if (!twins.has(k) && previous.get(k)?.lines === lines) expect(peer).toBe(previous.get(k)!.peer);
      previous = now;
    }
  });

  it("keeps the previous get when a malformed answer is refused", () => {
    const memo = new UapiPeerMemo();
    const good = body(block(hex(1), 0, "10.0.0.1/32"));
    const first = parseUapiGet(good, undefined, memo);
    // Its first peer changed (rx_bytes): a memo that kept any of it would parse `good` again.
    expect(() =>
      parseUapiGet(body(block(hex(1), 5, "10.0.0.1/32"), "public_key=xyz\n"), undefined, memo),
    ).toThrow(DomainError);
    expect(parseUapiGet(good, undefined, memo).peers[0]).toBe(first.peers[0]);
  });
});

describe("buildUapiSet", () => {
  it("writes removals, update_only updates and replacing adds as one request", () => {
    const plan: WgPlan = {
      ...emptyPlan(),
      remove: [key(3)],
      update: [
        {
          publicKey: key(2),
          allowedIps: ["10.0.0.3/32"],
          replaceAllowedIps: true,
          endpoint: "[2001:db8::1]:51820",
          persistentKeepalive: 0,
          presharedKey: null,
        },
      ],
      add: [
        {
          publicKey: key(1),
          allowedIps: ["10.0.0.2", "fd00::2"],
          persistentKeepalive: 25,
          presharedKey: key(100),
        },
      ],
    };
    expect(buildUapiSet(checkPlan(plan))).toBe(
      [
        "set=1",
        `public_key=${hex(3)}`,
        "remove=true",
        `public_key=${hex(2)}`,
        "update_only=true",
        "replace_allowed_ips=true",
        "allowed_ip=10.0.0.3/32",
        "endpoint=[2001:db8::1]:51820",
        "persistent_keepalive_interval=0",
        `preshared_key=${ZERO}`,
        `public_key=${hex(1)}`,
        "replace_allowed_ips=true",
        "allowed_ip=10.0.0.2/32",
        "allowed_ip=fd00::2/128",
        "persistent_keepalive_interval=25",
        `preshared_key=${hex(100)}`,
        "",
        "",
      ].join("\n"),
    );
  });

  it("writes an empty request for an empty plan", () => {
    expect(buildUapiSet(emptyPlan())).toBe("set=1\n\n");
  });

  it("asks for a resolver before writing a hostname endpoint", () => {
    const plan: WgPlan = {
      ...emptyPlan(),
      add: [{ publicKey: key(1), allowedIps: [], endpoint: "vpn.example.com:51820" }],
    };
    const checked = checkPlan(plan);
    expect(() => buildUapiSet(checked)).toThrow(/resolve the hostname first/);
    expect(buildUapiSet(checked, () => "192.0.2.9:51820")).toContain("endpoint=192.0.2.9:51820\n");
    // A resolver's answer is outside the checked plan: the line guard refuses one that injects.
    expect(() => buildUapiSet(checked, () => "192.0.2.9:51820\nremove=true")).toThrow(DomainError);
  });

  it.each<[string, WgPlan]>([
    ["a public key carrying a newline", { ...emptyPlan(), remove: [`${key(1)}\nremove=true`] }],
    ["a public key in hex", { ...emptyPlan(), remove: [hex(1)] }],
    [
      "an allowed IP carrying a line",
      { ...emptyPlan(), add: [{ publicKey: key(1), allowedIps: ["10.0.0.2/32\nallowed_ip=0.0.0.0/0"] }] },
    ],
    [
      "an endpoint carrying a line",
      {
        ...emptyPlan(),
        update: [{ publicKey: key(1), replaceAllowedIps: false, endpoint: "192.0.2.1:1\nremove=true" }],
      },
    ],
    [
      "a keepalive that is not an integer",
      { ...emptyPlan(), update: [{ publicKey: key(1), replaceAllowedIps: false, persistentKeepalive: 2.5 }] },
    ],
    [
      "a preshared key carrying a line",
      {
        ...emptyPlan(),
        update: [{ publicKey: key(1), replaceAllowedIps: false, presharedKey: `${key(2)}\nx` }],
      },
    ],
    ["one peer twice", { ...emptyPlan(), remove: [key(1)], add: [{ publicKey: key(1), allowedIps: [] }] }],
  ])("takes only checked plans: checkPlan refuses one with %s", (_name, plan) => {
    expect(() => buildUapiSet(checkPlan(plan))).toThrow(DomainError);
    expect(() => checkPlan(plan)).toThrow(expect.objectContaining({ code: "VALIDATION_FAILED" }));
  });
});

describe("buildUapiDeviceSet", () => {
  it("writes the private key in hex with the port", () => {
    const k = key(77);
    expect(buildUapiDeviceSet({ privateKey: k, listenPort: 51820 })).toBe(
      `set=1\nprivate_key=${hex(77)}\nlisten_port=51820\n\n`,
    );
  });

  it("refuses a port out of range", () => {
    expect(() => buildUapiDeviceSet({ listenPort: 70000 })).toThrow(DomainError);
  });
});
