import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { networks } from "../../../src/db/index.js";
import { HubPeerMemo, parseHubPeerLine } from "../../../src/mesh/hub-peers.js";
import type { HubPeerRow } from "../../../src/mesh/mesh.repo.js";
import { hubPeerRows } from "../../../src/mesh/mesh.repo.js";
import { createTestDatabase, type TestDatabase } from "../../support/db.js";

const US = "\x1f";
const KEY_A = `${"A".repeat(43)}=`;
const KEY_B = `${"B".repeat(43)}=`;
const KEY_C = `${"C".repeat(43)}=`;
/** A line as Postgres spells it (`hubPeerRows`): JSON text columns, "" for null, `t`/`f`. */
const line = (fields: string[]) => fields.join(US);
const plain = (id: string, key: string, ip4: string, status = "online") =>
  line([id, JSON.stringify(key), ip4, "", "", "[]", status, "", "f"]);

describe("parseHubPeerLine", () => {
  it("reads every column, nulls and JSON-escaped text included", () => {
    expect(
      parseHubPeerLine(
        line([
          "id-1",
          JSON.stringify(KEY_A),
          "10.0.0.2",
          "fd00::2",
          JSON.stringify("198.51.100.7:51820"),
          JSON.stringify(["192.168.9.0/24", "10.9.0.0/16"]),
          "pending",
          JSON.stringify('v1."x\\y'),
          "t",
        ]),
      ),
    ).toEqual({
      id: "id-1",
      publicKey: KEY_A,
      ip4: "10.0.0.2",
      ip6: "fd00::2",
      endpoint: "198.51.100.7:51820",
      extraAllowedIps: ["192.168.9.0/24", "10.9.0.0/16"],
      status: "pending",
      presharedKeyEnc: 'v1."x\\y',
      presharedKeyManaged: true,
    } satisfies HubPeerRow);
    expect(parseHubPeerLine(plain("id-2", KEY_B, "10.0.0.3"))).toEqual({
      id: "id-2",
      publicKey: KEY_B,
      ip4: "10.0.0.3",
      ip6: null,
      endpoint: null,
      extraAllowedIps: [],
      status: "online",
      presharedKeyEnc: null,
      presharedKeyManaged: false,
    });
  });

  it.each([
    ["a field is missing", line(["id", JSON.stringify(KEY_A), "10.0.0.2", "", "", "[]", "online", ""])],
    ["the status is unknown", plain("id", KEY_A, "10.0.0.2", "gone")],
    [
      "the boolean is spelt otherwise",
      line(["id", JSON.stringify(KEY_A), "10.0.0.2", "", "", "[]", "online", "", "true"]),
    ],
    ["the public key is null", line(["id", "", "10.0.0.2", "", "", "[]", "online", "", "f"])],
    ["a text column is not a JSON string", line(["id", "42", "10.0.0.2", "", "", "[]", "online", "", "f"])],
    [
      "the routes are not strings",
      line(["id", JSON.stringify(KEY_A), "10.0.0.2", "", "", "[1]", "online", "", "f"]),
    ],
  ])("throws when %s", (_, text) => {
    expect(() => parseHubPeerLine(text)).toThrow(/hub peers' text from Postgres is malformed/);
  });
});

describe("HubPeerMemo", () => {
  const text = [plain("a", KEY_A, "10.0.0.2"), plain("b", KEY_B, "10.0.0.3", "disabled")].join("\n");

  it("makes the peers of active nodes, in order, with their preshared keys", () => {
    const memo = new HubPeerMemo();
    const managed = line([
      "c",
      JSON.stringify(KEY_C),
      "10.0.0.4",
      "",
      "",
      "[]",
      "online",
      JSON.stringify("sealed"),
      "t",
    ]);
    const opened: string[] = [];
    const peers = memo.read([`${text}\n${managed}`], (n) => {
      opened.push(n.id);
      return n.presharedKeyManaged ? `psk-of-${n.presharedKeyEnc}` : undefined;
    });
    expect(peers).toEqual([
      { publicKey: KEY_A, allowedIps: ["10.0.0.2/32"], endpoint: null },
      { publicKey: KEY_C, allowedIps: ["10.0.0.4/32"], endpoint: null, presharedKey: "psk-of-sealed" },
    ]);
    expect(opened).toEqual(["a", "c"]); // a disabled node is no peer
    expect(memo.read([], () => undefined)).toEqual([]);
  });

  it("returns the same peers for the same text, and parses only the lines that changed", () => {
    const memo = new HubPeerMemo();
    let opened = 0;
    const pskOf = () => {
      opened++;
      return undefined;
    };
    const first = memo.read([text], pskOf);
    expect(opened).toBe(1);
    expect(memo.read([text], pskOf)).toBe(first);
    expect(opened).toBe(1);
    // One node joined and one changed its address: only those two lines make new peers.
    const next = memo.read(
      [
        [plain("a", KEY_A, "10.0.0.2"), plain("b", KEY_B, "10.0.0.9"), plain("c", KEY_C, "10.0.0.4")].join(
          "\n",
        ),
      ],
      pskOf,
    );
    expect(opened).toBe(3);
    expect(next.map((p) => p.allowedIps)).toEqual([["10.0.0.2/32"], ["10.0.0.9/32"], ["10.0.0.4/32"]]);
    expect(next[0]).toBe(first[0]);
  });

  it("keeps what it had when a line is malformed", () => {
    const memo = new HubPeerMemo();
    const first = memo.read([text], () => undefined);
    expect(() => memo.read([text, "broken"], () => undefined)).toThrow(/malformed/);
    expect(memo.read([text], () => undefined)).toBe(first);
  });

  /** Rows of `perRow` lines of nodes `from`…`to - 1`, as `hubPeerRows` cuts them. */
  const numbered = (n: number) =>
    plain(`n${n}`, Buffer.alloc(32, n).toString("base64"), `10.1.${n >> 8}.${n & 255}`);
  const rowsOf = (nodes: number[], perRow: number) =>
    Array.from({ length: Math.ceil(nodes.length / perRow) }, (_, r) =>
      nodes
        .slice(r * perRow, (r + 1) * perRow)
        .map(numbered)
        .join("\n"),
    );
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

  it.each([
    ["a node joins at the highest address", range(1, 31), 1],
    ["a node joins at the lowest address (every row moves by a line)", [0, ...range(1, 30)], 1],
    ["a node leaves from the middle", [...range(1, 12), ...range(13, 30)], 0],
    ["nothing changes", range(1, 30), 0],
  ])("parses only new lines, and keeps unchanged rows' peers, when %s", (_, nodes, parsed) => {
    const memo = new HubPeerMemo();
    let opened = 0;
    const pskOf = () => {
      opened++;
      return undefined;
    };
    const first = memo.read(rowsOf(range(1, 30), 10), pskOf);
    expect(opened).toBe(29);
    const next = memo.read(rowsOf(nodes, 10), pskOf);
    expect(opened - 29).toBe(parsed);
    expect(next.map((p) => p.publicKey)).toEqual(nodes.map((n) => Buffer.alloc(32, n).toString("base64")));
    // Every node that was there is the very same (frozen) peer, wherever its line moved.
    expect(next.filter((p) => first.includes(p))).toHaveLength(nodes.filter((n) => n >= 1 && n < 30).length);
    expect(next.every((p) => Object.isFrozen(p) && Object.isFrozen(p.allowedIps))).toBe(true);
    expect(memo.toJSON()).toEqual({ peers: nodes.length });
  });
});

describe("hubPeerRows on Postgres", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(2);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it("spells every node of a network as one line, by address, across its rows of 500", async () => {
    const db = t.database.db;
    const [net] = await db
      .insert(networks)
      .values({
        name: "text",
        cidr4: "10.7.0.0/16",
        hubIp4: "10.7.0.1",
        hubPublicKey: `${"k".repeat(43)}=`,
        hubPrivateKeyEnc: "v1.test.x.y.z",
      })
      .returning();
    const id = net!.id;
    // 1,201 nodes inserted out of address order; node 7 is disabled, node 9 has a managed preshared
    // key, node 11 an endpoint that needs escaping.
    await db.execute(sql`
      insert into nodes (network_id, name, public_key, ip4, status, preshared_key_enc, preshared_key_managed, endpoint)
      select ${id}::uuid, 'n' || i, encode(decode(md5('k' || i) || md5('x' || i), 'hex'), 'base64'),
             ('10.7.0.2'::inet + i),
             case when i = 7 then 'disabled' else 'online' end,
             case when i = 9 then 'sealed' end, i = 9,
             case when i = 11 then e'odd\x1f"host\n:1' end
      from generate_series(1200, 0, -1) as i`);
    const text = await hubPeerRows(db, id);
    expect(text.map((row) => row.split("\n").length)).toEqual([500, 500, 201]);
    const rows = text.flatMap((row) => row.split("\n")).map(parseHubPeerLine);
    expect(rows).toHaveLength(1201);
    expect(rows.map((r) => r.ip4)).toEqual(
      Array.from({ length: 1201 }, (_, i) => `10.7.${(i + 2) >> 8}.${(i + 2) & 255}`),
    );
    expect(
      rows.filter((r) => r.id !== "").map((r) => [r.ip4, r.presharedKeyEnc, r.presharedKeyManaged]),
    ).toEqual([["10.7.0.11", "sealed", true]]);
    expect(rows[11]!.endpoint).toBe('odd\x1f"host\n:1');
    expect(rows[7]!.status).toBe("disabled");
    const peers = new HubPeerMemo().read(text, () => undefined);
    expect(peers).toHaveLength(1200);
    expect(await hubPeerRows(db, "00000000-0000-0000-0000-000000000000")).toEqual([]);
  });
});
