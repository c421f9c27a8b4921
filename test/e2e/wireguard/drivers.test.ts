import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, expect, expectTypeOf, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import type { DesiredPeer, WgDriver, WgPlan, WgState } from "../../../src/wireguard/index.js";
import {
  checkPlan,
  emptyPlan,
  ensureInterface,
  generateKeyPair,
  generatePresharedKey,
  isEmptyPlan,
  keyToHex,
  openDriver,
  parseWgDump,
  planInterface,
  UapiDriver,
  WgCliDriver,
  WireGuardError,
} from "../../../src/wireguard/index.js";
import type { Lab } from "../../support/netns.js";
import { createLab, describeNetns } from "../../support/netns.js";

/** The state with its peers in key order: peer order on an interface means nothing. */
function byKey(state: WgState): WgState {
  return { ...state, peers: [...state.peers].sort((a, b) => a.publicKey.localeCompare(b.publicKey)) };
}

const keep = { removeUnknown: false, retired: new Set<string>() };
const removeAll = { removeUnknown: true, retired: new Set<string>() };

describeNetns("WireGuard drivers on a wireguard-go interface", () => {
  let lab: Lab;
  let ns: string;
  let iface: string;
  let hubKeys: ReturnType<typeof generateKeyPair>;
  const drivers: Record<"uapi" | "wg", WgDriver> = {} as Record<"uapi" | "wg", WgDriver>;

  /** What `wg show <if> dump` prints right now, parsed, peers by key (`wg` sorts them its own way). */
  async function wgShow(): Promise<WgState> {
    const out = await lab.exec(ns, "wg", ["show", iface, "dump"]);
    expect(out.exitCode).toBe(0);
    return byKey(parseWgDump(out.stdout));
  }

  const peers = (n: number, base = 10): (DesiredPeer & { privateKey: string })[] =>
    Array.from({ length: n }, (_, i) => {
      const k = generateKeyPair();
      return {
        publicKey: k.publicKey,
        privateKey: k.privateKey,
        allowedIps: [`10.${base}.${i >> 8}.${i & 255}/32`],
      };
    });
  const strip = (list: (DesiredPeer & { privateKey?: string })[]): DesiredPeer[] =>
    list.map(({ privateKey: _ignored, ...p }) => p);

  beforeAll(async () => {
    lab = createLab();
    ns = await lab.namespace();
    iface = lab.interfaceName(ns);
    hubKeys = generateKeyPair();
    await ensureInterface({
      name: iface,
      privateKey: hubKeys.privateKey,
      listenPort: 51820,
      addresses: ["10.77.0.1/24"],
      netns: ns,
    });
    drivers.uapi = new UapiDriver(iface);
    drivers.wg = new WgCliDriver(iface, { netns: ns });
  });

  afterAll(async () => {
    drivers.uapi?.close();
    await lab?.close();
  });

  beforeEach(async () => {
    // Every test starts from an interface without peers.
    await drivers.uapi.apply(planInterface([], await drivers.uapi.dump(), removeAll));
  });

  it("reads what wg show dump shows, with both drivers", async () => {
    const [a, b] = peers(2);
    const psk = generatePresharedKey();
    const pskFile = `/tmp/${iface}.psk`;
    // Configured by `wg` itself, independently of our writers.
    const setup = await lab.exec(
      ns,
      "sh",
      [
        "-c",
        `umask 077; cat > ${pskFile}; wg set ${iface} peer ${a!.publicKey} preshared-key ${pskFile} endpoint 192.0.2.1:51820 persistent-keepalive 25 allowed-ips 10.10.0.0/24,fd00::2/128 peer ${b!.publicKey} allowed-ips 10.11.0.1/32; rc=$?; rm -f ${pskFile}; exit $rc`,
      ],
      psk,
    );
    expect(setup.exitCode).toBe(0);

    const shown = await wgShow();
    expect(shown.publicKey).toBe(hubKeys.publicKey);
    expect(shown.listenPort).toBe(51820);
    const peerOf = new Map(shown.peers.map((p) => [p.publicKey, p]));
    expect(peerOf.get(a!.publicKey)).toMatchObject({
      presharedKey: psk,
      hasPresharedKey: true,
      endpoint: "192.0.2.1:51820",
      allowedIps: ["10.10.0.0/24", "fd00::2/128"],
      persistentKeepalive: 25,
      latestHandshake: 0,
    });
    expect(peerOf.get(b!.publicKey)).toMatchObject({
      presharedKey: null,
      endpoint: null,
      allowedIps: ["10.11.0.1/32"],
    });
    expect(byKey(await drivers.uapi.dump())).toEqual(shown);
    expect(byKey(await drivers.wg.dump())).toEqual(shown);
  });

  it("keeps neither the interface's private key nor a preshared key where a log could see them", async () => {
    const [a] = peers(1);
    const psk = generatePresharedKey();
    await drivers.uapi.apply(checkPlan({ ...emptyPlan(), add: [{ ...strip([a!])[0]!, presharedKey: psk }] }));
    await drivers.uapi.dump();
    await drivers.uapi.dump(); // the second one is read through the memo of the first
    const secrets = [hubKeys.privateKey, keyToHex(hubKeys.privateKey), psk, keyToHex(psk)];
    const shown = [JSON.stringify(drivers.uapi), inspect(drivers.uapi, { depth: 20, showHidden: true })];
    for (const text of shown) for (const secret of secrets) expect(text).not.toContain(secret);
  });

  it.each(["uapi", "wg"] as const)(
    "%s: adds, updates and removes peers in one write, as wg show confirms",
    async (kind) => {
      const driver = drivers[kind];
      const [a, b, c] = peers(3);
      const psk = generatePresharedKey();
      const first: DesiredPeer[] = [
        { ...strip([a!])[0]!, presharedKey: psk, persistentKeepalive: 25 },
        { ...strip([b!])[0]!, endpoint: "192.0.2.2:51820" },
        strip([c!])[0]!,
      ];
      const added = await driver.apply(planInterface(first, await driver.dump(), keep));
      expect(added.writes).toBe(1);
      let shown = await wgShow();
      expect(shown.peers.map((p) => p.publicKey).sort()).toEqual([a, b, c].map((p) => p!.publicKey).sort());
      expect(shown.peers.find((p) => p.publicKey === a!.publicKey)).toMatchObject({
        presharedKey: psk,
        persistentKeepalive: 25,
      });
      expect(shown.peers.find((p) => p.publicKey === b!.publicKey)?.endpoint).toBe("192.0.2.2:51820");

      const second: DesiredPeer[] = [
        {
          publicKey: a!.publicKey,
          allowedIps: ["10.20.0.0/16", "fd00:20::/64"],
          presharedKey: null,
          persistentKeepalive: null,
        },
        { publicKey: b!.publicKey, allowedIps: b!.allowedIps, endpoint: "[2001:db8::7]:4000" },
      ];
      const plan = planInterface(second, shown, { removeUnknown: false, retired: new Set([c!.publicKey]) });
      expect(plan.reason).toBe(
        "updateAllowedIps(1) updateEndpoint(1) updateKeepalive(1) updatePresharedKey(1) removeRetired(1)",
      );
      expect((await driver.apply(plan)).writes).toBe(1);
      shown = await wgShow();
      expect(shown.peers).toHaveLength(2);
      expect(shown.peers.find((p) => p.publicKey === a!.publicKey)).toMatchObject({
        allowedIps: ["10.20.0.0/16", "fd00:20::/64"],
        presharedKey: null,
        persistentKeepalive: null,
      });
      expect(shown.peers.find((p) => p.publicKey === b!.publicKey)?.endpoint).toBe("[2001:db8::7]:4000");
      expect(isEmptyPlan(planInterface(second, shown, keep))).toBe(true);
    },
  );

  it.each(["uapi", "wg"] as const)(
    "%s: a plan applied twice changes nothing the second time",
    async (kind) => {
      const driver = drivers[kind];
      const desired = strip(peers(20)).map((p, i) => ({ ...p, persistentKeepalive: i % 2 ? 25 : null }));
      await driver.apply(planInterface(desired.slice(5), await driver.dump(), keep));
      const plan = planInterface(desired, await driver.dump(), keep);
      await driver.apply(plan);
      const once = await wgShow();
      await driver.apply(plan);
      expect(await wgShow()).toEqual(once);
      const next = planInterface(desired, once, keep);
      expect(isEmptyPlan(next)).toBe(true);
      expect(await driver.apply(next)).toEqual({ writes: 0 });
    },
  );

  it.each(["uapi", "wg"] as const)("%s: resolves a hostname endpoint before writing it", async (kind) => {
    const [a] = strip(peers(1));
    await drivers[kind].apply(
      planInterface([{ ...a!, endpoint: "localhost:51999" }], await drivers[kind].dump(), keep),
    );
    expect((await wgShow()).peers[0]?.endpoint).toMatch(/^(127\.0\.0\.1|\[::1\]):51999$/);
  });

  it("both drivers read the same interface the same way", async () => {
    const psk = generatePresharedKey();
    const desired = strip(peers(50)).map((p, i) =>
      i % 7 === 0 ? { ...p, presharedKey: psk, endpoint: `192.0.2.${i}:5${i}` } : p,
    );
    await drivers.uapi.apply(planInterface(desired, await drivers.uapi.dump(), keep));
    const viaUapi = await drivers.uapi.dump();
    expect(viaUapi.peers).toHaveLength(50);
    expect(byKey(await drivers.wg.dump())).toEqual(byKey(viaUapi));
  });

  it("the userspace API applies a thousand new peers in one write", async () => {
    const desired = strip(peers(1000));
    expect(await drivers.uapi.apply(planInterface(desired, await drivers.uapi.dump(), keep))).toEqual({
      writes: 1,
    });
    expect((await wgShow()).peers).toHaveLength(1000);
    expect(await drivers.uapi.apply(planInterface([], await drivers.uapi.dump(), removeAll))).toEqual({
      writes: 1,
    });
    expect((await wgShow()).peers).toHaveLength(0);
  });

  it("the userspace API reads answers many times its read buffer, and small ones after the interface shrank", async () => {
    // A fresh driver starts with a 256 KB read buffer; 3,000 peers answer ~900 KB over many reads.
    const reader = new UapiDriver(iface);
    try {
      const desired = strip(peers(3000));
      await reader.apply(planInterface(desired, await reader.dump(), keep));
      expect(byKey(await reader.dump())).toEqual(await wgShow());
      await reader.apply(planInterface(desired.slice(0, 5), await reader.dump(), removeAll));
      expect(byKey(await reader.dump())).toEqual(await wgShow());
      await reader.apply(planInterface(desired, await reader.dump(), keep));
      const grownAgain = byKey(await reader.dump());
      expect(grownAgain.peers).toHaveLength(3000);
      expect(grownAgain).toEqual(await wgShow());
    } finally {
      reader.close();
    }
  });

  it("the userspace API reuses idle peers get after get while its read buffers take turns, and reads changed ones afresh", async () => {
    // 1,500 peers answer ~440 KB: more than a fresh driver's read buffer, so it grows first.
    const reader = new UapiDriver(iface);
    try {
      const desired = strip(peers(1500));
      await reader.apply(planInterface(desired, await reader.dump(), keep));
      const first = new Map((await reader.dump()).peers.map((p) => [p.publicKey, p]));
      const changed = desired[7]!.publicKey;
      const removed = desired[8]!.publicKey;
      const added = strip(peers(1, 11))[0]!;
      for (let round = 0; round < 5; round++) {
        if (round === 2) {
          // Changed behind the driver's back: one peer's allowed IPs, one peer gone, one new.
          const set = ["set", iface, "peer", changed, "allowed-ips", "10.99.0.7/32"];
          expect((await lab.exec(ns, "wg", [...set, "peer", removed, "remove"])).exitCode).toBe(0);
          await drivers.wg.apply(checkPlan({ ...emptyPlan(), add: [added] }));
        }
        const state = await reader.dump();
        expect(byKey(state)).toEqual(await wgShow());
        const fresh = state.peers.filter((p) => first.get(p.publicKey) !== p).map((p) => p.publicKey);
        // Each get is read into the buffer the previous one was not: reading into the memo's own
        // answer would leave nothing to compare with, and every peer would be parsed afresh.
        expect(fresh.sort()).toEqual(round < 2 ? [] : [changed, added.publicKey].sort());
        expect(state.peers.find((p) => p.publicKey === changed)?.allowedIps).toEqual(
          round < 2 ? desired[7]!.allowedIps : ["10.99.0.7/32"],
        );
      }
    } finally {
      reader.close();
    }
  });

  it("the wg driver reuses idle peers dump after dump, and reads a changed one afresh", async () => {
    const reader = new WgCliDriver(iface, { netns: ns });
    const desired = strip(peers(300));
    await drivers.uapi.apply(planInterface(desired, await drivers.uapi.dump(), keep));
    const first = await reader.dump();
    const changed = desired[5]!.publicKey;
    await lab.exec(ns, "wg", ["set", iface, "peer", changed, "allowed-ips", "10.98.0.5/32"]);
    const second = await reader.dump();
    expect(byKey(second)).toEqual(await wgShow());
    const fresh = second.peers.filter((p) => !first.peers.includes(p)).map((p) => p.publicKey);
    expect(fresh).toEqual([changed]);
  });

  it("the wg driver splits a plan over several runs only past its command-line budget", async () => {
    const small = new WgCliDriver(iface, { netns: ns, maxArgBytes: 2_000 });
    const desired = strip(peers(60));
    const result = await small.apply(planInterface(desired, await small.dump(), keep));
    expect(result.writes).toBeGreaterThan(1);
    expect((await wgShow()).peers).toHaveLength(60);
  });

  it("the wg driver leaves no preshared-key file behind", async () => {
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith("wiresync-psk-"));
    const desired = strip(peers(3)).map((p) => ({ ...p, presharedKey: generatePresharedKey() }));
    await drivers.wg.apply(planInterface(desired, await drivers.wg.dump(), keep));
    expect((await wgShow()).peers.filter((p) => p.hasPresharedKey)).toHaveLength(3);
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith("wiresync-psk-"))).toEqual(before);
  });

  it.each(["uapi", "wg"] as const)("%s: takes no injection attempt, and nothing is written", async (kind) => {
    const driver = drivers[kind];
    const [a] = strip(peers(1));
    await driver.apply(planInterface([a!], await driver.dump(), keep));
    const before = await wgShow();
    const attacks: WgPlan[] = [
      {
        ...emptyPlan(),
        add: [{ publicKey: generateKeyPair().publicKey, allowedIps: ["10.0.0.9/32\nremove=true"] }],
      },
      { ...emptyPlan(), remove: [`${a!.publicKey}\nreplace_peers=true`] },
      {
        ...emptyPlan(),
        update: [
          { publicKey: a!.publicKey, replaceAllowedIps: false, endpoint: "192.0.2.1:1\nreplace_peers=true" },
        ],
      },
      {
        ...emptyPlan(),
        update: [
          {
            publicKey: a!.publicKey,
            replaceAllowedIps: true,
            allowedIps: ["0.0.0.0/0", "1.2.3.4/32 peer x remove"],
          },
        ],
      },
      {
        ...emptyPlan(),
        add: [{ publicKey: generateKeyPair().publicKey, allowedIps: [] }],
        update: [{ publicKey: a!.publicKey, replaceAllowedIps: false, presharedKey: "private_key=00" }],
      },
    ];
    // A driver takes only a checked plan (by type: test/src/wireguard/plan.test.ts), and checkPlan,
    // the way from a hand-written plan to one, refuses each attempt before the driver is called.
    expectTypeOf<WgPlan>().not.toExtend<Parameters<WgDriver["apply"]>[0]>();
    for (const plan of attacks) {
      const error = await Promise.resolve()
        .then(() => driver.apply(checkPlan(plan)))
        .then(
          () => null,
          (err: unknown) => err,
        );
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe("VALIDATION_FAILED");
    }
    expect(await wgShow()).toEqual(before);
  });

  it("turns a userspace-API errno into a WireGuardError without keys, and keeps working", async () => {
    const other = lab.interfaceName(ns);
    const otherKeys = generateKeyPair();
    await ensureInterface({
      name: other,
      privateKey: otherKeys.privateKey,
      listenPort: 51821,
      addresses: [],
      netns: ns,
    });
    const driver = openDriver(other, { driver: "auto" });
    try {
      expect(driver.kind).toBe("uapi");
      // Port 51820 is taken by the first interface in this namespace.
      const error = await driver.setDevice({ privateKey: otherKeys.privateKey, listenPort: 51820 }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(WireGuardError);
      expect((error as WireGuardError).errno).toBeLessThan(0);
      expect((error as WireGuardError).code).toBe("WIREGUARD_UNAVAILABLE");
      const text = JSON.stringify({ m: (error as Error).message, c: (error as WireGuardError).context });
      expect(text).not.toContain(otherKeys.privateKey);
      expect(text).not.toContain(Buffer.from(otherKeys.privateKey, "base64").toString("hex"));
      expect((await driver.dump()).publicKey).toBe(otherKeys.publicKey);
    } finally {
      driver.close();
    }
  });

  it("reports an interface without a userspace API as a WireGuardError", async () => {
    const missing = new UapiDriver("wstmissing0");
    await expect(missing.dump()).rejects.toBeInstanceOf(WireGuardError);
    await expect(new WgCliDriver("wstmissing0", { netns: ns }).dump()).rejects.toBeInstanceOf(WireGuardError);
  });

  it("serialises concurrent requests on one connection", async () => {
    const desired = strip(peers(30));
    const driver = new UapiDriver(iface);
    try {
      const results = await Promise.all([
        driver.dump(),
        driver.apply(planInterface(desired.slice(0, 10), await drivers.uapi.dump(), keep)),
        driver.dump(),
        driver.apply(checkPlan({ ...emptyPlan(), add: desired.slice(10) })),
        driver.dump(),
      ]);
      // In call order: each dump sees exactly the writes queued before it.
      expect((results[0] as WgState).peers).toHaveLength(0);
      expect((results[2] as WgState).peers).toHaveLength(10);
      expect((results[4] as WgState).peers).toHaveLength(30);
    } finally {
      driver.close();
    }
  });
});
