import { describe, expect, expectTypeOf, it } from "vitest";
import { DomainError } from "../../../src/errors.js";
import type {
  CheckedPeer,
  CheckedPlan,
  DesiredPeer,
  DesiredSet,
  PlanOptions,
  WgPeer,
  WgPlan,
  WgPort,
  WgState,
} from "../../../src/wireguard/index.js";
import {
  checkPeer,
  checkPlan,
  desiredSet,
  diffInterface,
  driftReport,
  emptyPlan,
  FakeWg,
  isEmptyPlan,
  mergePlans,
  PlanMemo,
  planInterface,
} from "../../../src/wireguard/index.js";

/** A valid, recognisable key: 32 bytes of `n`. */
const key = (n: number) => Buffer.alloc(32, n).toString("base64");
const A = key(1);
const B = key(2);
const C = key(3);
const D = key(4);
const HUB = key(9);
const PSK = key(100);
const PSK2 = key(101);

function peer(publicKey: string, fields: Partial<WgPeer> = {}): WgPeer {
  return {
    publicKey,
    hasPresharedKey: fields.presharedKey != null,
    presharedKey: null,
    endpoint: null,
    allowedIps: [],
    latestHandshake: 0,
    rxBytes: 0,
    txBytes: 0,
    persistentKeepalive: null,
    ...fields,
  };
}

function state(...peers: WgPeer[]): WgState {
  return { publicKey: HUB, listenPort: 51820, peers };
}

const keep: PlanOptions = { removeUnknown: false, retired: new Set<string>() };

describe("planInterface", () => {
  it.each<[string, DesiredPeer[], WgState, Partial<WgPlan>, PlanOptions?]>([
    [
      "an interface that matches the database needs no change",
      [{ publicKey: A, allowedIps: ["10.0.0.2/32"] }],
      state(peer(A, { allowedIps: ["10.0.0.2/32"] })),
      {},
    ],
    [
      "a desired peer missing from the interface is added",
      [{ publicKey: A, allowedIps: ["10.0.0.2"] }],
      state(),
      { add: [{ publicKey: A, allowedIps: ["10.0.0.2/32"] }] },
    ],
    [
      "allowed IPs are compared as sets, so order and duplicates do not matter",
      [{ publicKey: A, allowedIps: ["10.0.1.0/24", "10.0.0.2/32", "10.0.0.2"] }],
      state(peer(A, { allowedIps: ["10.0.0.2/32", "10.0.1.0/24"] })),
      {},
    ],
    [
      "allowed IPs are compared after normalisation, so host bits and IPv6 spelling do not matter",
      [{ publicKey: A, allowedIps: ["10.0.1.7/24", "FD00:0:0:0::2/128"] }],
      state(peer(A, { allowedIps: ["10.0.1.0/24", "fd00::2/128"] })),
      {},
    ],
    [
      "different allowed IPs are replaced, and only they are written",
      [{ publicKey: A, allowedIps: ["10.0.0.3/32"], endpoint: "192.0.2.1:51820" }],
      state(peer(A, { allowedIps: ["10.0.0.2/32"], endpoint: "192.0.2.1:51820" })),
      { update: [{ publicKey: A, allowedIps: ["10.0.0.3/32"], replaceAllowedIps: true }] },
    ],
    [
      "an endpoint the database does not set is left to WireGuard's roaming",
      [{ publicKey: A, allowedIps: [], endpoint: null }],
      state(peer(A, { endpoint: "198.51.100.7:40000" })),
      {},
    ],
    [
      "an endpoint the database sets is compared and corrected",
      [{ publicKey: A, allowedIps: [], endpoint: "192.0.2.1:51820" }],
      state(peer(A, { endpoint: "198.51.100.7:40000" })),
      { update: [{ publicKey: A, endpoint: "192.0.2.1:51820", replaceAllowedIps: false }] },
    ],
    [
      "an IPv6 endpoint is compared in canonical form",
      [{ publicKey: A, allowedIps: [], endpoint: "[2001:DB8:0::1]:51820" }],
      state(peer(A, { endpoint: "[2001:db8::1]:51820" })),
      {},
    ],
    [
      "a hostname endpoint is not compared, since the interface only shows the resolved address",
      [{ publicKey: A, allowedIps: [], endpoint: "vpn.example.com:51820" }],
      state(peer(A, { endpoint: "192.0.2.1:51820" })),
      {},
    ],
    [
      "a keepalive the database does not specify is left alone",
      [{ publicKey: A, allowedIps: [] }],
      state(peer(A, { persistentKeepalive: 25 })),
      {},
    ],
    [
      "a different keepalive is updated",
      [{ publicKey: A, allowedIps: [], persistentKeepalive: 25 }],
      state(peer(A, { persistentKeepalive: 15 })),
      { update: [{ publicKey: A, persistentKeepalive: 25, replaceAllowedIps: false }] },
    ],
    [
      "a null keepalive turns keepalive off",
      [{ publicKey: A, allowedIps: [], persistentKeepalive: null }],
      state(peer(A, { persistentKeepalive: 25 })),
      { update: [{ publicKey: A, persistentKeepalive: 0, replaceAllowedIps: false }] },
    ],
    [
      "a keepalive of 0 matches a peer whose keepalive is off",
      [{ publicKey: A, allowedIps: [], persistentKeepalive: 0 }],
      state(peer(A, { persistentKeepalive: null })),
      {},
    ],
    [
      "a preshared key the database does not specify is left alone",
      [{ publicKey: A, allowedIps: [] }],
      state(peer(A, { presharedKey: PSK })),
      {},
    ],
    [
      "a different preshared key is updated",
      [{ publicKey: A, allowedIps: [], presharedKey: PSK2 }],
      state(peer(A, { presharedKey: PSK })),
      { update: [{ publicKey: A, presharedKey: PSK2, replaceAllowedIps: false }] },
    ],
    [
      "a null preshared key removes the one on the interface",
      [{ publicKey: A, allowedIps: [], presharedKey: null }],
      state(peer(A, { presharedKey: PSK })),
      { update: [{ publicKey: A, presharedKey: null, replaceAllowedIps: false }] },
    ],
    [
      "a peer the database does not know is reported as unexpected and left alone",
      [],
      state(peer(A)),
      { unexpected: [A] },
    ],
    [
      "a peer of a deleted node is removed even without removeUnknown",
      [],
      state(peer(A), peer(B)),
      { remove: [A], unexpected: [B] },
      { removeUnknown: false, retired: new Set([A]) },
    ],
    [
      "a peer that is desired again after its node was retired is kept",
      [{ publicKey: A, allowedIps: [] }],
      state(peer(A)),
      {},
      { removeUnknown: true, retired: new Set([A]) },
    ],
    [
      "a desired peer with the interface's own key is skipped, as WireGuard would ignore it",
      [{ publicKey: HUB, allowedIps: ["10.0.0.1/32"] }],
      state(),
      {},
    ],
  ])("%s", (_name, desired, actual, expected, options = keep) => {
    const plan = planInterface(desired, actual, options);
    expect({ add: plan.add, remove: plan.remove, update: plan.update, unexpected: plan.unexpected }).toEqual({
      add: [],
      remove: [],
      update: [],
      unexpected: [],
      ...expected,
    });
  });

  it("removes every unknown peer when removeUnknown is set", () => {
    const plan = planInterface([{ publicKey: A, allowedIps: [] }], state(peer(A), peer(B), peer(C)), {
      removeUnknown: true,
      retired: new Set(),
    });
    expect(plan.remove).toEqual([B, C]);
    expect(plan.unexpected).toEqual([]);
    expect(plan.reason).toBe("removeUnknown(2)");
  });

  it("explains itself in the reason without naming keys", () => {
    const plan = planInterface(
      [
        { publicKey: A, allowedIps: ["10.0.0.2/32"] },
        { publicKey: B, allowedIps: ["10.0.0.3/32"], persistentKeepalive: 25 },
      ],
      state(peer(B, { allowedIps: ["10.0.0.9/32"] }), peer(C), peer(D)),
      { removeUnknown: false, retired: new Set([C]) },
    );
    expect(plan.reason).toBe(
      "addPeers(1) updateAllowedIps(1) updateKeepalive(1) removeRetired(1) unexpectedPeers(1)",
    );
    expect(plan.reason).not.toContain(A.slice(0, 10));
  });

  it("says noChange when nothing differs", () => {
    expect(planInterface([], state(), keep).reason).toBe("noChange");
  });

  it.each<[string, DesiredPeer[]]>([
    ["a malformed public key", [{ publicKey: "not-a-key", allowedIps: [] }]],
    ["a public key with a newline", [{ publicKey: `${A.slice(0, 43)}\n`, allowedIps: [] }]],
    ["a malformed allowed IP", [{ publicKey: A, allowedIps: ["10.0.0.300/32"] }]],
    [
      "an allowed IP carrying an extra line",
      [{ publicKey: A, allowedIps: ["10.0.0.2/32\nallowed_ip=0.0.0.0/0"] }],
    ],
    ["a prefix longer than the address", [{ publicKey: A, allowedIps: ["10.0.0.2/33"] }]],
    ["an endpoint without a port", [{ publicKey: A, allowedIps: [], endpoint: "192.0.2.1" }]],
    [
      "an endpoint carrying an extra line",
      [{ publicKey: A, allowedIps: [], endpoint: "192.0.2.1:1\nremove=true" }],
    ],
    ["a keepalive out of range", [{ publicKey: A, allowedIps: [], persistentKeepalive: 70000 }]],
    ["a malformed preshared key", [{ publicKey: A, allowedIps: [], presharedKey: "short" }]],
    [
      "the same public key twice",
      [
        { publicKey: A, allowedIps: [] },
        { publicKey: A, allowedIps: [] },
      ],
    ],
  ])("refuses desired peers with %s", (_name, desired) => {
    expect(() => planInterface(desired, state(), keep)).toThrow(DomainError);
    try {
      planInterface(desired, state(), keep);
    } catch (err) {
      expect((err as DomainError).code).toBe("VALIDATION_FAILED");
      expect((err as Error).message).not.toContain(PSK);
    }
  });

  it("never echoes a preshared key in a validation error", () => {
    const badPsk = `${PSK.slice(0, 40)}!!!=`;
    expect(() =>
      planInterface([{ publicKey: A, allowedIps: [], presharedKey: badPsk }], state(), keep),
    ).toThrow(/preshared key is not a WireGuard key/);
    try {
      planInterface([{ publicKey: A, allowedIps: [], presharedKey: badPsk }], state(), keep);
    } catch (err) {
      expect(JSON.stringify({ m: (err as Error).message, c: (err as DomainError).context })).not.toContain(
        PSK.slice(0, 40),
      );
    }
  });

  it("converges: applying its plan to the interface leaves nothing to do", async () => {
    const desired: DesiredPeer[] = [
      { publicKey: A, allowedIps: ["10.0.0.2/32"], persistentKeepalive: 25, presharedKey: PSK },
      { publicKey: B, allowedIps: ["10.0.0.3/32", "10.1.0.0/16"], endpoint: "192.0.2.1:51820" },
    ];
    const wg = new FakeWg("wg0", {
      publicKey: HUB,
      peers: [peer(B, { allowedIps: ["10.0.0.9/32"] }), peer(C)],
    });
    const plan = planInterface(desired, await wg.dump(), { removeUnknown: false, retired: new Set([C]) });
    await wg.apply(plan);
    await wg.apply(plan);
    const again = planInterface(desired, await wg.dump(), keep);
    expect(isEmptyPlan(again)).toBe(true);
    expect(again.unexpected).toEqual([]);
  });
});

describe("checked peers and plans", () => {
  it("are the only ones a port takes, and nothing outside the module makes one without a cast", () => {
    expectTypeOf<Parameters<WgPort["apply"]>[0]>().toEqualTypeOf<CheckedPlan>();
    expectTypeOf<WgPlan>().not.toExtend<CheckedPlan>();
    expectTypeOf<DesiredPeer>().not.toExtend<CheckedPeer>();
    // A copy with a field replaced is no longer checked, though it was made from a checked plan.
    const plan = planInterface([{ publicKey: A, allowedIps: [] }], state(), keep);
    expectTypeOf({ ...plan, remove: ["x\nremove=true"] }).not.toExtend<CheckedPlan>();
    expectTypeOf({ ...plan.add[0]!, allowedIps: ["0.0.0.0/0\n"] }).not.toExtend<CheckedPeer>();
    // What the planner and its helpers return is checked already.
    expectTypeOf(plan).toEqualTypeOf<CheckedPlan>();
    expectTypeOf(mergePlans(plan, emptyPlan())).toEqualTypeOf<CheckedPlan>();
    expectTypeOf(plan.add[0]!).toExtend<CheckedPeer>();
  });

  it("checks a peer once into a frozen, canonical peer, and checking it again changes nothing", () => {
    const checked = checkPeer({
      publicKey: A,
      allowedIps: ["10.0.0.2", "10.0.1.9/24"],
      endpoint: "[2001:DB8::1]:51820",
      persistentKeepalive: null,
      presharedKey: PSK,
    });
    expect(checked).toEqual({
      publicKey: A,
      allowedIps: ["10.0.0.2/32", "10.0.1.0/24"],
      endpoint: "[2001:db8::1]:51820",
      persistentKeepalive: 0,
      presharedKey: PSK,
    });
    expect(Object.isFrozen(checked) && Object.isFrozen(checked.allowedIps)).toBe(true);
    expect(checkPeer(checked)).toEqual(checked);
    expect(checkPeer({ publicKey: A, allowedIps: [], endpoint: null })).toEqual({
      publicKey: A,
      allowedIps: [],
    });
    expect(() => checkPeer({ publicKey: A, allowedIps: ["10.0.0.2/32\nremove=true"] })).toThrow(
      expect.objectContaining({ code: "VALIDATION_FAILED" }),
    );
    expect(() => checkPeer({ publicKey: "nope", allowedIps: [] }, 4)).toThrow(/peer #5 public key/);
  });

  it("takes only well-formed keys of the interface into its removals", () => {
    const odd = "not a key\nremove=true";
    const actual = state(peer(A), peer(odd));
    expect(planInterface([], actual, keep).unexpected).toEqual([A, odd]);
    expect(() => planInterface([], actual, { removeUnknown: true, retired: new Set() })).toThrow(
      expect.objectContaining({ code: "INTERFACE_FAULT" }),
    );
    expect(() => planInterface([], actual, { removeUnknown: false, retired: new Set([odd]) })).toThrow(
      expect.objectContaining({ code: "INTERFACE_FAULT" }),
    );
    expect(planInterface([], state(peer(A)), { removeUnknown: true, retired: new Set() }).remove).toEqual([
      A,
    ]);
  });

  it("checks a hand-written plan into a new, normalised one, and refuses a key in two lists", () => {
    const written: WgPlan = {
      ...emptyPlan("by hand"),
      add: [{ publicKey: A, allowedIps: ["10.0.0.2"] }],
      update: [{ publicKey: B, replaceAllowedIps: true }],
      remove: [C],
    };
    const checked = checkPlan(written);
    expect(checked).not.toBe(written);
    expect(checked).toEqual({
      add: [{ publicKey: A, allowedIps: ["10.0.0.2/32"] }],
      update: [{ publicKey: B, replaceAllowedIps: true, allowedIps: [] }],
      remove: [C],
      unexpected: [],
      reason: "by hand",
    });
    expect(() => checkPlan({ ...written, remove: [A] })).toThrow(/more than once/);
  });
});

describe("isEmptyPlan", () => {
  it.each<[string, WgPlan, boolean]>([
    ["a plan with no operations is empty", emptyPlan(), true],
    ["a plan that only reports unexpected peers is empty", { ...emptyPlan(), unexpected: [A] }, true],
    ["a plan with an add is not empty", { ...emptyPlan(), add: [{ publicKey: A, allowedIps: [] }] }, false],
    ["a plan with a removal is not empty", { ...emptyPlan(), remove: [A] }, false],
    [
      "a plan with an update is not empty",
      { ...emptyPlan(), update: [{ publicKey: A, replaceAllowedIps: false }] },
      false,
    ],
  ])("%s", (_name, plan, empty) => {
    expect(isEmptyPlan(plan)).toBe(empty);
  });
});

describe("mergePlans", () => {
  const add = (publicKey: string, allowedIps: string[] = []): CheckedPlan =>
    checkPlan({ ...emptyPlan("addPeers(1)"), add: [{ publicKey, allowedIps }] });
  const remove = (publicKey: string): CheckedPlan =>
    checkPlan({ ...emptyPlan("removeRetired(1)"), remove: [publicKey] });
  const update = (publicKey: string, fields: Partial<WgPlan["update"][number]>): CheckedPlan =>
    checkPlan({
      ...emptyPlan("updateAllowedIps(1)"),
      update: [{ publicKey, replaceAllowedIps: false, ...fields }],
    });

  it.each<[string, CheckedPlan[], Pick<WgPlan, "add" | "remove" | "update">]>([
    ["merging nothing gives an empty plan", [], { add: [], remove: [], update: [] }],
    [
      "plans on different peers are combined",
      [add(A), remove(B)],
      { add: [{ publicKey: A, allowedIps: [] }], remove: [B], update: [] },
    ],
    ["a later removal wins over an earlier add", [add(A), remove(A)], { add: [], remove: [A], update: [] }],
    [
      "a later add wins over an earlier removal",
      [remove(A), add(A, ["10.0.0.2/32"])],
      { add: [{ publicKey: A, allowedIps: ["10.0.0.2/32"] }], remove: [], update: [] },
    ],
    [
      "a later update is folded into an earlier add",
      [
        add(A, ["10.0.0.2/32"]),
        update(A, { allowedIps: ["10.0.0.3/32"], replaceAllowedIps: true, persistentKeepalive: 25 }),
      ],
      {
        add: [{ publicKey: A, allowedIps: ["10.0.0.3/32"], persistentKeepalive: 25 }],
        remove: [],
        update: [],
      },
    ],
    [
      "a later update after a removal is dropped, as update_only would drop it",
      [remove(A), update(A, { persistentKeepalive: 25 })],
      { add: [], remove: [A], update: [] },
    ],
    [
      "two updates of one peer combine, the later field winning",
      [
        update(A, { persistentKeepalive: 10, endpoint: "192.0.2.1:1" }),
        update(A, { persistentKeepalive: 25 }),
      ],
      {
        add: [],
        remove: [],
        update: [
          { publicKey: A, replaceAllowedIps: false, persistentKeepalive: 25, endpoint: "192.0.2.1:1" },
        ],
      },
    ],
    [
      "an appending update adds to a replacing one",
      [
        update(A, { allowedIps: ["10.0.0.2/32"], replaceAllowedIps: true }),
        update(A, { allowedIps: ["10.0.0.3/32"], replaceAllowedIps: false }),
      ],
      {
        add: [],
        remove: [],
        update: [{ publicKey: A, allowedIps: ["10.0.0.2/32", "10.0.0.3/32"], replaceAllowedIps: true }],
      },
    ],
  ])("%s", (_name, plans, expected) => {
    const merged = mergePlans(...plans);
    expect({ add: merged.add, remove: merged.remove, update: merged.update }).toEqual(expected);
  });

  it("keeps unexpected peers that no operation touches, once", () => {
    const merged = mergePlans(
      checkPlan({ ...emptyPlan(), unexpected: [A, B] }),
      checkPlan({ ...remove(B), unexpected: [A] }),
    );
    expect(merged.unexpected).toEqual([A]);
  });

  it("joins the reasons of the plans that do something", () => {
    expect(mergePlans(add(A), emptyPlan(), remove(B)).reason).toBe("addPeers(1); removeRetired(1)");
  });

  it("has the effect of applying the plans one after another", async () => {
    const plans = [
      add(A, ["10.0.0.2/32"]),
      update(A, { persistentKeepalive: 25 }),
      add(B),
      remove(B),
      remove(C),
    ];
    const oneByOne = new FakeWg("a", { peers: [peer(C)] });
    const merged = new FakeWg("b", { peers: [peer(C)] });
    for (const p of plans) await oneByOne.apply(p);
    await merged.apply(mergePlans(...plans));
    expect(await merged.dump()).toEqual(await oneByOne.dump());
    expect(merged.writes).toBe(1);
  });
});

describe("driftReport", () => {
  it("lists missing, unexpected and mismatched peers with the fields that differ", () => {
    const report = driftReport(
      [
        { publicKey: A, allowedIps: ["10.0.0.2/32"] },
        { publicKey: B, allowedIps: ["10.0.0.3/32"], persistentKeepalive: 25, presharedKey: PSK },
        { publicKey: C, allowedIps: ["10.0.0.4/32"] },
      ],
      state(
        peer(B, { allowedIps: ["10.0.0.9/32"], persistentKeepalive: 25 }),
        peer(C, { allowedIps: ["10.0.0.4/32"] }),
        peer(D),
      ),
    );
    expect(report).toEqual({
      missing: [A],
      unexpected: [D],
      mismatched: [{ publicKey: B, fields: ["allowedIps", "presharedKey"] }],
    });
  });

  it("finds no drift on an interface that matches", () => {
    expect(
      driftReport(
        [{ publicKey: A, allowedIps: ["10.0.0.2"] }],
        state(peer(A, { allowedIps: ["10.0.0.2/32"] })),
      ),
    ).toEqual({
      missing: [],
      unexpected: [],
      mismatched: [],
    });
  });
});

describe("diffInterface", () => {
  const desired: DesiredPeer[] = [
    { publicKey: D, allowedIps: ["10.0.0.5/32"] },
    { publicKey: B, allowedIps: ["10.0.0.3/32"], persistentKeepalive: 25 },
    { publicKey: A, allowedIps: ["10.0.0.2/32"] },
  ];
  const actual = state(
    peer(C),
    peer(A, { allowedIps: ["10.0.0.7/32"] }),
    peer(B, { allowedIps: ["10.0.0.3/32"] }),
  );
  const options: PlanOptions = { removeUnknown: false, retired: new Set([C]) };

  it("gives the plan and the drift of one pass, equal to planInterface and driftReport", () => {
    const { plan, drift } = diffInterface(desired, actual, options);
    expect(plan).toEqual(planInterface(desired, actual, options));
    expect(drift).toEqual(driftReport(desired, actual));
    expect(drift).toEqual({
      missing: [D],
      unexpected: [C],
      mismatched: [
        { publicKey: B, fields: ["persistentKeepalive"] },
        { publicKey: A, fields: ["allowedIps"] },
      ],
    });
  });

  it("keeps the desired order in adds and updates, and a fixed order in the reason", () => {
    const { plan } = diffInterface(desired, actual, options);
    expect(plan.add.map((p) => p.publicKey)).toEqual([D]);
    expect(plan.update.map((u) => u.publicKey)).toEqual([B, A]);
    expect(plan.reason).toBe("addPeers(1) updateAllowedIps(1) updateKeepalive(1) removeRetired(1)");
    const reversed = diffInterface([...desired].reverse(), state(...[...actual.peers].reverse()), options);
    expect(reversed.plan.reason).toBe(plan.reason);
    expect(reversed.plan.update.map((u) => u.publicKey)).toEqual([A, B]);
  });

  it("plans the same from a prepared desired set, which is taken as it is", () => {
    const prepared = desiredSet(desired);
    expect(desiredSet(prepared)).toBe(prepared);
    expect(diffInterface(prepared, actual, options)).toEqual(diffInterface(desired, actual, options));
    expect(() => desiredSet([...desired, { publicKey: A, allowedIps: [] }])).toThrow(/repeats a public key/);
    expect(() => desiredSet([{ publicKey: "nope", allowedIps: [] }])).toThrow(DomainError);
  });
});

describe("a desired set reused between reconciles", () => {
  const desired: DesiredPeer[] = [
    { publicKey: A, allowedIps: ["10.0.0.2/32"] },
    { publicKey: B, allowedIps: ["10.0.0.3/32", "fd00::3/128"], endpoint: "192.0.2.1:51820" },
    { publicKey: C, allowedIps: ["10.0.0.4/32"], persistentKeepalive: 25, presharedKey: PSK },
  ];
  const options: PlanOptions = { removeUnknown: true, retired: new Set() };
  const frozen = (p: WgPeer): WgPeer =>
    Object.freeze({ ...p, allowedIps: Object.freeze([...p.allowedIps]) as string[] });

  it("is returned again for the same peers, freshly read, and not for any change", () => {
    const first = desiredSet(desired);
    const copy = () => desired.map((p) => ({ ...p, allowedIps: [...p.allowedIps] }));
    expect(desiredSet(copy(), first)).toBe(first);
    const changes: ((peers: ReturnType<typeof copy>) => void)[] = [
      (peers) => peers.pop(),
      (peers) => peers.reverse(),
      (peers) => peers.push({ publicKey: D, allowedIps: [] }),
      (peers) => {
        peers[0]!.allowedIps = ["10.0.0.9/32"];
      },
      (peers) => peers[1]!.allowedIps.pop(),
      (peers) => {
        peers[1]!.endpoint = "192.0.2.1:51821";
      },
      (peers) => {
        peers[2]!.persistentKeepalive = 0;
      },
      (peers) => {
        peers[2]!.presharedKey = PSK2;
      },
      (peers) => {
        peers[2]!.presharedKey = undefined;
      },
    ];
    for (const change of changes) {
      const peers = copy();
      change(peers);
      const next = desiredSet(peers, first);
      expect(next).not.toBe(first);
      expect(next).toEqual(desiredSet(peers));
    }
  });

  it("does not compare a frozen interface peer that agreed again, and plans exactly what a fresh set plans", () => {
    const agreeing = frozen(peer(A, { allowedIps: ["10.0.0.2/32"] }));
    const drifted = frozen(peer(B, { allowedIps: ["10.0.0.3/32"] }));
    const unknown = frozen(peer(D));
    const actual = state(agreeing, drifted, unknown);
    const set = desiredSet(desired);
    const memo = new PlanMemo();
    const first = diffInterface(set, actual, options, memo);
    expect(memo.agreed.get(agreeing)).toEqual({ peer: set.peers[0], set, position: 0 });
    expect(memo.agreed.has(drifted)).toBe(false);
    const again = diffInterface(desiredSet(desired, set), actual, options, memo);
    expect(again).toEqual(first);
    expect(again).toEqual(diffInterface(desired, actual, options));
    expect(again.plan.add.map((p) => p.publicKey)).toEqual([C]);
    expect(again.plan.update.map((u) => u.publicKey)).toEqual([B]);
    expect(again.plan.remove).toEqual([D]);
  });

  it("carries agreements over to a set made after some peers changed, moved or joined", () => {
    const agreeingA = frozen(peer(A, { allowedIps: ["10.0.0.2/32"] }));
    const agreeingB = frozen(
      peer(B, { allowedIps: ["10.0.0.3/32", "fd00::3/128"], endpoint: "192.0.2.1:51820" }),
    );
    const actual = state(agreeingA, agreeingB);
    const set = desiredSet(desired);
    const memo = new PlanMemo();
    diffInterface(set, actual, options, memo);
    // D joins at the front (every position moves) and A's allowed IPs change; B is untouched.
    const changed: DesiredPeer[] = [
      { publicKey: D, allowedIps: ["10.0.0.5/32"] },
      { ...desired[0]!, allowedIps: ["10.0.0.9/32"] },
      { ...desired[1]! },
      { ...desired[2]! },
    ];
    const next = desiredSet(changed, set);
    expect(next).not.toBe(set);
    expect(next.peers[2]).toBe(set.peers[1]); // unchanged: the same checked peer
    expect(next.peers[1]).not.toBe(set.peers[0]);
    const { plan } = diffInterface(next, actual, options, memo);
    expect(plan).toEqual(diffInterface(changed, actual, options).plan);
    expect(plan.update.map((u) => u.publicKey)).toEqual([A]);
    expect(plan.add.map((p) => p.publicKey)).toEqual([D, C]);
    // B's agreement now points into the new set, at B's new position; A's is no longer believed.
    expect(memo.agreed.get(agreeingB)).toEqual({ peer: next.peers[2], set: next, position: 2 });
    expect(memo.agreed.get(agreeingA)?.set).toBe(set);
    // And the old set still plans as before, with its own positions.
    expect(diffInterface(set, actual, options, memo).plan).toEqual(
      diffInterface(desired, actual, options).plan,
    );
  });

  it("holds frozen, checked peers that plans check to the same peer, while other peers are still checked", () => {
    const set = desiredSet([{ publicKey: A, allowedIps: ["10.0.0.2", "10.0.0.1/32"] }]);
    const checked = set.peers[0]!;
    expect(Object.isFrozen(checked) && Object.isFrozen(checked.allowedIps)).toBe(true);
    expect(checked.allowedIps).toEqual(["10.0.0.1/32", "10.0.0.2/32"]);
    expect(checkPlan({ ...emptyPlan(), add: [checked] }).add[0]).toEqual(checked);
    // A copy looks the same but could change: it is checked and normalised again.
    const copy = { ...checked, allowedIps: ["10.0.0.2", "10.0.0.1/32"] };
    const again = checkPlan({ ...emptyPlan(), add: [copy] }).add[0]!;
    expect(again).not.toBe(copy);
    expect(again.allowedIps).toEqual(["10.0.0.1/32", "10.0.0.2/32"]);
    expect(() => checkPlan({ ...emptyPlan(), add: [{ ...checked, publicKey: "nope" }] })).toThrow(
      DomainError,
    );
  });

  it("keeps comparing a peer that could change under it (not frozen)", () => {
    const mutable = peer(A, { allowedIps: ["10.0.0.2/32"] });
    const set = desiredSet(desired);
    const memo = new PlanMemo();
    expect(driftReport(set, state(mutable), memo).mismatched).toEqual([]);
    expect(memo.agreed.has(mutable)).toBe(false);
    mutable.allowedIps = ["10.9.9.9/32"];
    expect(driftReport(set, state(mutable), memo).mismatched).toEqual([
      { publicKey: A, fields: ["allowedIps"] },
    ]);
  });

  it("keeps no memory of its own: a desired set is frozen, and planning without a memo learns nothing", () => {
    const agreeing = frozen(peer(A, { allowedIps: ["10.0.0.2/32"] }));
    const set = desiredSet(desired);
    expect(Object.isFrozen(set)).toBe(true);
    expect(Object.keys(set).sort()).toEqual(["index", "peers", "sources"]);
    const memo = new PlanMemo();
    diffInterface(set, state(agreeing), options);
    diffInterface(desiredSet(desired, set), state(agreeing), options);
    expect(memo.agreed.has(agreeing)).toBe(false);
    diffInterface(set, state(agreeing), options, memo);
    expect(memo.agreed.has(agreeing)).toBe(true);
  });
});

describe("a desired set made from the very peers the previous set was made from", () => {
  const options: PlanOptions = { removeUnknown: true, retired: new Set() };
  const KEYS = [A, B, C, D, HUB];
  /** Frozen desired peers, as a memo of the database's peers hands them out (`HubPeerMemo`). */
  const sources = KEYS.map((k, i) =>
    Object.freeze({ publicKey: k, allowedIps: Object.freeze([`10.0.0.${i + 2}/32`]) }),
  );
  const joined = Object.freeze({ publicKey: key(5), allowedIps: Object.freeze(["10.0.0.9/32"]) });
  const frozenPeer = (p: DesiredPeer): WgPeer => {
    const made = peer(p.publicKey, { allowedIps: [...p.allowedIps] });
    return Object.freeze({ ...made, allowedIps: Object.freeze(made.allowedIps) as string[] });
  };
  /** How many of `next`'s peers are the very checked peers of `previous` at the same position. */
  const keptInPlace = (next: DesiredSet, previous: DesiredSet) =>
    next.peers.filter((p, i) => p === previous.peers[i]).length;

  it("is the previous set for the same peers handed again, in a new array", () => {
    const first = desiredSet(sources);
    expect(desiredSet([...sources], first)).toBe(first);
  });

  it.each([
    ["one peer joined at the end", [...sources, joined], 5],
    ["one peer joined in the middle", [...sources.slice(0, 2), joined, ...sources.slice(2)], 2],
    ["one peer left at the end", sources.slice(0, 4), 4],
    ["one peer left in the middle", [...sources.slice(0, 1), ...sources.slice(2)], 1],
    ["the first peer changed", [{ ...sources[0]!, allowedIps: ["10.0.0.7/32"] }, ...sources.slice(1)], 4],
  ])(
    "keeps the unchanged checked peers when %s (%i in place), and equals a set made afresh",
    (_, next, inPlace) => {
      const first = desiredSet(sources);
      const made = desiredSet(next, first);
      expect(keptInPlace(made, first)).toBe(inPlace);
      expect(made).toEqual(desiredSet(next));
      // Unchanged peers further on are still the previous set's checked peers, wherever they moved.
      expect(made.peers.filter((p) => first.peers.includes(p))).toHaveLength(
        next.filter((p) => sources.includes(p as (typeof sources)[number])).length,
      );
      // The previous set is left as it was (its index is copied, not changed).
      expect(first.index.size).toBe(5);
      expect([...first.index]).toEqual(KEYS.map((k, i) => [k, i]));
    },
  );

  it("compares a peer that is handed again but could have changed (not frozen)", () => {
    const mutable: DesiredPeer[] = sources.map((p) => ({ ...p, allowedIps: [...p.allowedIps] }));
    const first = desiredSet(mutable);
    (mutable[3]!.allowedIps as string[]).push("10.9.9.9/32");
    const next = desiredSet(mutable, first);
    expect(next).not.toBe(first);
    expect(next.peers[3]!.allowedIps).toEqual(["10.0.0.5/32", "10.9.9.9/32"]);
    expect(keptInPlace(next, first)).toBe(4);
    // A frozen peer whose allowed IPs are not frozen is compared too.
    const halfFrozen = sources.map((p) => Object.freeze({ ...p, allowedIps: [...p.allowedIps] }));
    const half = desiredSet(halfFrozen);
    halfFrozen[0]!.allowedIps.push("10.8.8.8/32");
    expect(desiredSet(halfFrozen, half).peers[0]!.allowedIps).toEqual(["10.0.0.2/32", "10.8.8.8/32"]);
  });

  it("repeats no public key: a joined peer with a kept peer's key is refused", () => {
    const first = desiredSet(sources);
    expect(() => desiredSet([...sources, { publicKey: A, allowedIps: [] }], first)).toThrow(
      /repeats a public key/,
    );
  });

  it("carries every agreement over in place after a join, and plans only the joined peer", () => {
    const actual = state(...sources.map(frozenPeer));
    const first = desiredSet(sources);
    const memo = new PlanMemo();
    expect(isEmptyPlan(diffInterface(first, actual, options, memo).plan)).toBe(true);
    const next = desiredSet([...sources, joined], first);
    const { plan, drift } = diffInterface(next, actual, options, memo);
    expect(plan).toEqual(diffInterface([...sources, joined], actual, options).plan);
    expect(plan.add.map((p) => p.publicKey)).toEqual([joined.publicKey]);
    expect(plan.update).toEqual([]);
    expect(plan.remove).toEqual([]);
    expect(drift.missing).toEqual([joined.publicKey]);
    const agreements = actual.peers.map((p) => memo.agreed.get(p));
    expect(agreements.filter((a) => a?.set === next)).toHaveLength(5);
    expect(agreements.map((a) => a?.position)).toEqual([0, 1, 2, 3, 4]);
  });

  it("still finds drift on the interface when the desired peers are handed again", () => {
    const first = desiredSet(sources);
    const memo = new PlanMemo();
    diffInterface(first, state(...sources.map(frozenPeer)), options, memo);
    // Behind our back: B's allowed IPs changed, D left, an unknown peer came.
    const drifted = state(
      ...sources
        .map((p) =>
          p.publicKey === B
            ? frozenPeer({ ...p, allowedIps: ["10.7.7.7/32"] })
            : p.publicKey === D
              ? null
              : frozenPeer(p),
        )
        .filter((p): p is WgPeer => p !== null),
      frozenPeer({ publicKey: key(6), allowedIps: ["10.6.6.6/32"] }),
    );
    const next = desiredSet([...sources, joined], first);
    const { plan, drift } = diffInterface(next, drifted, options, memo);
    expect(plan).toEqual(diffInterface([...sources, joined], drifted, options).plan);
    expect(drift).toEqual({
      missing: [D, joined.publicKey],
      unexpected: [key(6)],
      mismatched: [{ publicKey: B, fields: ["allowedIps"] }],
    });
  });
});
