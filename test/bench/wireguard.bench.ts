/**
 * WireGuard data plane: a real peer sync (`syncNetwork`: the desired peers read from Postgres while
 * the interface is read over the userspace API, the diff, one write) of a hub network of 10,000 nodes
 * on wireguard-go, against the `wg` tool doing the same job after the same database read, rounds
 * interleaved. Writes are counted where wireguard-go receives them (a proxy of its socket). The `wg`
 * commands run in a shell of their own (`BenchShell`), as an operator's would.
 *
 *   npm run bench -- wireguard          (root, wireguard-go, wg, ip, Postgres, Redis)
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HubPeerMemo } from "../../src/mesh/index.js";
import type { DesiredPeer } from "../../src/wireguard/index.js";
import {
  checkPlan,
  emptyPlan,
  ensureInterface,
  generateKeyPair,
  isEmptyPlan,
  openDriver,
  planInterface,
  UAPI_SOCKET_DIR,
} from "../../src/wireguard/index.js";
import type { BenchOptions, BenchRow } from "./harness.js";
import { checkRow, elapsedMs, interleave, pairedRow } from "./harness.js";
import { createNetwork, insertNodes, openWorld, requireNetns } from "./lab.js";
import { BenchShell } from "./shell.js";

function wgConfig(privateKey: string, listenPort: number, peers: readonly DesiredPeer[]): string {
  const lines = ["[Interface]", `PrivateKey = ${privateKey}`, `ListenPort = ${listenPort}`, ""];
  for (const p of peers) {
    lines.push("[Peer]", `PublicKey = ${p.publicKey}`, `AllowedIPs = ${p.allowedIps.join(", ")}`, "");
  }
  return lines.join("\n");
}

/** One userspace-API get of the whole interface, received but not parsed: what any reader pays. */
function rawGet(iface: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(join(UAPI_SOCKET_DIR, `${iface}.sock`));
    let bytes = 0;
    let previous = -1;
    socket.on("error", reject);
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
      const last = chunk[chunk.length - 1];
      const beforeLast = chunk.length > 1 ? chunk[chunk.length - 2] : previous;
      previous = last ?? previous;
      if (last === 10 && beforeLast === 10) {
        socket.destroy();
        resolve(bytes);
      }
    });
    socket.write("get=1\n\n");
  });
}

export async function rows(options: BenchOptions): Promise<BenchRow[]> {
  requireNetns("the wireguard bench");
  const PEERS = options.quick ? 300 : 10_000;
  const ROUNDS = options.quick ? 5 : 21;
  const SLOW_ROUNDS = options.quick ? 5 : 7;
  const DRIFT = Math.max(3, Math.round(PEERS / 100));
  const sizeLabel = PEERS.toLocaleString("en");
  let hubNs = "";
  let clientNs = "";
  let hubIf = "";
  let emptyIf = "";
  const world = await openWorld({
    interfaces: async (lab) => {
      hubNs = await lab.namespace();
      clientNs = await lab.namespace();
      await lab.veth(
        { netns: hubNs, address: "192.168.88.1/24" },
        { netns: clientNs, address: "192.168.88.2/24" },
      );
      hubIf = lab.interfaceName(hubNs);
      emptyIf = lab.interfaceName(hubNs);
      return [
        { network: "bench", iface: hubIf, netns: hubNs },
        { network: "bench-create", iface: emptyIf, netns: hubNs },
      ];
    },
    // The reconcile itself, not the throttle between two writes (the provisioning rows measure that).
    minApplyIntervalMs: 0,
  });
  const secrets = await mkdtemp(join(tmpdir(), "wiresync-bench-")); // 0700: configs hold private keys
  const { platform, sql, counter, lab } = world;
  const out: BenchRow[] = [];
  // Started before the 10,000 peers are read (see shell.ts), and closed with the rest below.
  const shell = new BenchShell();
  /** The baseline's `wg`, run by the bench's shell (not forked from this process: see shell.ts). */
  const wg = (...args: string[]) => shell.run("wg", ...args);
  try {
    const peerSync = platform.services.peerSync;
    const configs = platform.services.configs;
    // ── a hub network of PEERS nodes in Postgres; one is a real client in another namespace ────────
    const networkId = await createNetwork(platform, {
      name: "bench",
      cidr4: "10.200.0.0/16",
      listenPort: 51820,
    });
    const clientKeys = generateKeyPair();
    await sql`insert into nodes (network_id, name, public_key, ip4)
              values (${networkId}, 'client', ${clientKeys.publicKey}, '10.200.0.2')`;
    await insertNodes(sql, networkId, { count: PEERS - 1, seed: "hub", firstHost: "10.200.0.3" });
    const sync = (id: string) => peerSync.syncNetwork(id, { removeUnknown: true, reportDrift: false });
    options.log(`setting up ${sizeLabel} peers`);
    await sync(networkId);
    const hubState = await configs.hubState(networkId);
    const clientIf = lab.interfaceName(clientNs);
    await ensureInterface({
      name: clientIf,
      privateKey: clientKeys.privateKey,
      listenPort: 51820,
      addresses: ["10.200.0.2/16"],
      netns: clientNs,
    });
    const client = openDriver(clientIf, { driver: "uapi" });
    await client.apply(
      checkPlan({
        ...emptyPlan(),
        add: [
          {
            publicKey: hubState.network.hubPublicKey,
            allowedIps: ["10.200.0.0/16"],
            endpoint: "192.168.88.1:51820",
          },
        ],
      }),
    );
    client.close();
    if (!(await lab.ping(clientNs, "10.200.0.1"))) throw new Error("the client cannot ping the hub");
    // Untimed: drift is made and checked beside the product, straight on the socket.
    const hub = openDriver(hubIf, { driver: "uapi" });
    const clientBefore = (await hub.dump()).peers.find((p) => p.publicKey === clientKeys.publicKey)!;
    const desired = hubState.peers;
    const configFile = join(secrets, "hub.conf");
    const writeConfig = async (file: string, peers: readonly DesiredPeer[], port = 51820) =>
      writeFile(file, wgConfig(hubState.hubPrivateKey, port, peers), { mode: 0o600 });
    await writeConfig(configFile, desired);
    /** Ours: one real peer sync, timed; the writes wireguard-go received during it are recorded. */
    const writesPerSync: number[] = [];
    const timedSync = (id: string, iface: string) => async () => {
      const before = counter.writes(iface);
      const ms = await elapsedMs(() => sync(id));
      writesPerSync.push(counter.writes(iface) - before);
      return ms;
    };
    /**
     * The baseline's read: the same query the peer sync makes, with a memo of its own like the peer
     * sync's (a shared one would parse a joined node's line for whichever side read first).
     */
    const baselinePeers = new HubPeerMemo();
    const dbRead = () => configs.hubState(networkId, baselinePeers);

    // ── (a) no drift ───────────────────────────────────────────────────────────────────────────────
    options.log("(a) no drift");
    const writesBeforeA = counter.writes(hubIf);
    const a = await interleave(ROUNDS, {
      ours: async () => elapsedMs(() => sync(networkId)),
      base: () =>
        elapsedMs(async () => {
          await dbRead();
          await wg("syncconf", hubIf, configFile);
        }),
    });
    out.push(
      pairedRow(
        {
          name: `(a) peer sync, no drift, ${sizeLabel} peers`,
          unit: "ms",
          baselineName: "DB read + wg syncconf",
          target: { of: "ratio", compare: "<=", value: 1.0 },
          note: "both sides read the desired peers from Postgres (the peer sync's own query); ours then reads the interface, diffs and writes nothing",
        },
        a,
      ),
    );
    const floor = await interleave(ROUNDS, {
      ours: async () => elapsedMs(() => sync(networkId)),
      base: () => elapsedMs(() => Promise.all([dbRead(), rawGet(hubIf)])),
    });
    out.push(
      pairedRow(
        {
          name: `(a) peer sync, no drift, ${sizeLabel} peers, vs its floor`,
          unit: "ms",
          baselineName: "floor: DB read ∥ one raw get",
          target: { of: "ratio", compare: "<=", value: 2.0 },
          note: "the floor is the least any reconcile does: the same query and one userspace-API get (received, not parsed), concurrently as ours does them",
        },
        floor,
      ),
    );
    out.push(
      checkRow({
        name: `(a) writes wireguard-go received during ${2 * ROUNDS} no-drift peer syncs`,
        unit: "writes",
        ours: counter.writes(hubIf) - writesBeforeA,
        rounds: 2 * ROUNDS,
        target: { of: "ours", compare: "=", value: 0 },
        note: "counted on a proxy of wireguard-go's socket, not reported by our driver",
      }),
    );

    // ── (b) 1 % drift: allowed IPs changed, peers missing, unknown peers present ─────────────────
    let driftRound = 0;
    let drifted = { changed: [] as DesiredPeer[], missing: [] as DesiredPeer[], unknown: [] as string[] };
    const drift = async () => {
      driftRound++;
      const start = 1 + ((driftRound * DRIFT) % (desired.length - DRIFT - 1)); // never the client (0)
      const victims = desired.slice(start, start + DRIFT);
      const third = Math.floor(DRIFT / 3);
      const unknown = Array.from({ length: third }, (_, i) => ({
        publicKey: randomBytes(32).toString("base64"),
        allowedIps: [`10.250.${driftRound % 250}.${i}/32`],
      }));
      drifted = {
        changed: victims.slice(0, DRIFT - 2 * third),
        missing: victims.slice(DRIFT - 2 * third, DRIFT - third),
        unknown: unknown.map((p) => p.publicKey),
      };
      await hub.apply(
        checkPlan({
          ...emptyPlan(),
          update: drifted.changed.map((p, i) => ({
            publicKey: p.publicKey,
            allowedIps: [`10.251.${driftRound % 250}.${i}/32`],
            replaceAllowedIps: true,
          })),
          remove: drifted.missing.map((p) => p.publicKey),
          add: unknown,
        }),
      );
    };
    options.log("(b) 1 % drift");
    writesPerSync.length = 0;
    const b = await interleave(ROUNDS, {
      prepare: drift,
      ours: timedSync(networkId, hubIf),
      base: () =>
        elapsedMs(async () => {
          await dbRead();
          await wg("syncconf", hubIf, configFile);
        }),
    });
    out.push(
      pairedRow(
        {
          name: `(b) peer sync, 1 % drift (${DRIFT} of ${sizeLabel} peers)`,
          unit: "ms",
          baselineName: "DB read + wg syncconf",
          target: { of: "ratio", compare: "<=", value: 0.5 },
          note: "⅓ allowed IPs changed, ⅓ peers missing, ⅓ unknown peers present; wg syncconf re-sends every peer",
        },
        b,
      ),
    );
    // The per-peer loop a simpler tool runs, over exactly the peers that drifted (it is even told
    // which: it skips the read that would find them).
    options.log("(b) vs a per-peer loop over the drifted peers");
    const loop = await interleave(SLOW_ROUNDS, {
      prepare: drift,
      ours: timedSync(networkId, hubIf),
      base: () =>
        elapsedMs(async () => {
          await dbRead();
          for (const p of [...drifted.changed, ...drifted.missing])
            await wg("set", hubIf, "peer", p.publicKey, "allowed-ips", p.allowedIps.join(","));
          for (const key of drifted.unknown) await wg("set", hubIf, "peer", key, "remove");
        }),
    });
    out.push(
      pairedRow(
        {
          name: `(b) peer sync, 1 % drift, vs a per-peer loop over the ${DRIFT} drifted peers`,
          unit: "ms",
          baselineName: `DB read + ${DRIFT}× wg set`,
          target: { of: "ratio", compare: "<=", value: 0.2 },
          note: "one `wg set` process per drifted peer, measured every round (not extrapolated)",
        },
        loop,
      ),
    );
    const afterDrift = await hub.dump();
    if (!isEmptyPlan(planInterface(desired, afterDrift, { removeUnknown: true, retired: new Set() }))) {
      throw new Error("the interface does not match the database after the drift rounds");
    }

    // ── (j) one node joined: the database gains a peer the interface lacks ───────────────────────
    options.log("(j) one node joined");
    let joinedCount = 0;
    const joinedConfig = join(secrets, "joined.conf");
    const j = await interleave(ROUNDS, {
      prepare: async () => {
        const n = joinedCount++;
        await sql`insert into nodes (network_id, name, public_key, ip4)
                  values (${networkId}, ${`joined-${n}`}, ${randomBytes(32).toString("base64")},
                          host('10.200.200.0'::inet + ${n}::int)::inet)`;
        await writeConfig(joinedConfig, (await dbRead()).peers);
      },
      ours: timedSync(networkId, hubIf),
      base: () =>
        elapsedMs(async () => {
          await dbRead();
          await wg("syncconf", hubIf, joinedConfig);
        }),
    });
    out.push(
      pairedRow(
        {
          name: `(j) peer sync after one node joined, ${sizeLabel} peers`,
          unit: "ms",
          baselineName: "DB read + wg syncconf",
          target: { of: "ratio", compare: "<=", value: 0.5 },
          note: "the sync every enrollment triggers",
        },
        j,
      ),
    );

    // Untouched peers: the real client's session must have survived every sync above.
    const pingAfter = await lab.ping(clientNs, "10.200.0.1");
    const clientAfter = (await hub.dump()).peers.find((p) => p.publicKey === clientKeys.publicKey);
    const survived = pingAfter && clientAfter?.latestHandshake === clientBefore.latestHandshake;
    out.push(
      checkRow({
        name: "(a)–(j) a live client's session survived every peer sync (1 = yes)",
        unit: "",
        ours: survived ? 1 : 0,
        target: { of: "ours", compare: "=", value: 1 },
        note: "same latest handshake on the hub, and the client still pings the hub",
      }),
    );

    // ── (c) create PEERS peers on an empty interface ───────────────────────────────────────────────
    options.log("(c) create on an empty interface");
    const createId = await createNetwork(platform, {
      name: "bench-create",
      cidr4: "10.100.0.0/16",
      listenPort: 51821,
    });
    await insertNodes(sql, createId, { count: PEERS, seed: "create", firstHost: "10.100.0.2" });
    await sync(createId); // creates the interface
    const createState = await configs.hubState(createId);
    const emptyConfig = join(secrets, "empty.conf");
    await writeFile(emptyConfig, wgConfig(createState.hubPrivateKey, 51821, createState.peers), {
      mode: 0o600,
    });
    const empty = openDriver(emptyIf, { driver: "uapi" });
    const createPeers = new HubPeerMemo();
    const c = await interleave(SLOW_ROUNDS, {
      prepare: async () => {
        await empty.apply(planInterface([], await empty.dump(), { removeUnknown: true, retired: new Set() }));
      },
      ours: timedSync(createId, emptyIf),
      base: () =>
        elapsedMs(async () => {
          await configs.hubState(createId, createPeers);
          await wg("setconf", emptyIf, emptyConfig);
        }),
    });
    out.push(
      pairedRow(
        {
          name: `(c) peer sync creating ${sizeLabel} peers on an empty interface`,
          unit: "ms",
          baselineName: "DB read + wg setconf",
          target: { of: "ratio", compare: "<=", value: 1.2 },
          note: "mostly wireguard-go creating the peers, on both sides",
        },
        c,
      ),
    );
    out.push(
      checkRow({
        name: `(b)(j)(c) peer syncs with a change that did not make exactly one write (of ${writesPerSync.length})`,
        unit: "syncs",
        ours: writesPerSync.filter((w) => w !== 1).length,
        rounds: writesPerSync.length,
        target: { of: "ours", compare: "=", value: 0 },
        note: "writes counted on the proxy of wireguard-go's socket",
      }),
    );
    hub.close();
    empty.close();
    return out;
  } finally {
    await shell.close();
    await rm(secrets, { recursive: true, force: true });
    await world.close();
  }
}
