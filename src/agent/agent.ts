/**
 * The node agent: registers once (its key pair made here, the private key never leaving the node),
 * applies its config to the node's interface, follows config announcements and reapplies when a new
 * version appears, and reports heartbeats (with where it can be reached and whom it shook hands with,
 * see reach.ts). Level-triggered: every (re)connection fetches and applies
 * the current config, so a missed announcement is repaired at the next one or the next heartbeat.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Logger } from "../logger.js";
import type { NatType } from "../nat/index.js";
import type { WgDriver } from "../wireguard/index.js";
import { checkPlan, generateKeyPair, openDriver, publicKeyOf, signKeyRotation } from "../wireguard/index.js";
import type { AgentApi } from "./api-client.js";
import { AgentApiError } from "./api-client.js";
import { applyWgQuickConfig } from "./apply.js";
import { applyDns } from "./dns.js";
import { hubKeyPlan, hubKeyStep, nextHubKeyOf } from "./hub-rotation.js";
import type { ReachReport } from "./reach.js";
import { readReach } from "./reach.js";
import type { RelayLink } from "./relay-link.js";
import { createRelayLink } from "./relay-link.js";
import type { RelayMode } from "./relay-mode.js";
import { createRelayMode } from "./relay-mode.js";
import type { PathTimings } from "./relay-path.js";
import { parseWgQuickConfig } from "./wg-quick.js";

const SECOND_MS = 1_000;
const MAX_BACKOFF_MS = 30 * SECOND_MS;
const DAY_MS = 24 * 60 * 60 * SECOND_MS;
/** How often the interface is read while a hub key rotation is under way (see hub-rotation.ts). */
export const HUB_KEY_POLL_MS = 100;

export interface AgentState {
  nodeId: string;
  token: string;
  privateKey: string;
  publicKey: string;
  /** When the node's key pair was made (ISO 8601): the start of its scheduled rotation's wait. */
  keyCreatedAt?: string;
  /**
   * A key pair made for a rotation the server may or may not have taken (the agent stopped before
   * its answer): the rotation is sent again with it at the next start, and the server answers the same.
   */
  pendingPrivateKey?: string;
}

export interface AgentOptions {
  api: AgentApi;
  stateDir: string;
  iface: string;
  netns?: string | undefined;
  driver: "auto" | "uapi" | "wg";
  enrollmentKey?: string | undefined;
  name?: string | undefined;
  /**
   * The node's NAT type, registered with it: the relay tells it to the node's mesh peers, and a pair
   * that cannot punch through to each other (both symmetric, …) is relayed without a direct try.
   */
  natType?: NatType | undefined;
  heartbeatSeconds: number;
  /**
   * Rotate the node's key when it is this many days old (fractions allowed); 0 or absent: only when
   * an operator asks (POST /api/v1/nodes/{id}/rekey).
   */
  rotateKeyDays?: number | undefined;
  /** The agent's own version, sent with every heartbeat. */
  agentVersion?: string | undefined;
  /**
   * Relay mode (see relay-mode.ts): the API's base URL, whose `/api/v1/relay` carries the datagrams of
   * mesh peers this node cannot reach directly, and when to use it. Omit to reach peers directly only.
   * Needs the agent in the interface's own namespace (not with `netns`): its relay sockets are local.
   */
  relay?: { url: string; timings: PathTimings; tickMs?: number } | undefined;
  logger: Logger;
}

export interface Agent {
  /** Registers if needed and applies the current config; resolves once the interface is configured. */
  start(): Promise<AgentState>;
  /** The config version last applied. */
  readonly appliedVersion: number;
  /** The node's current public key (it changes with a rotation). */
  readonly publicKey: string | undefined;
  stop(): Promise<void>;
}

async function loadState(file: string): Promise<AgentState | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as AgentState;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`reading ${file}: ${(err as Error).message}; delete it to register again`, {
      cause: err,
    });
  }
}

async function saveState(file: string, state: AgentState): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

function metrics() {
  const cpus = os.cpus().length || 1;
  return {
    cpu: Math.min(100, Math.round(((os.loadavg()[0] ?? 0) / cpus) * 1000) / 10),
    memory: Math.round((1 - os.freemem() / os.totalmem()) * 1000) / 10,
  };
}

export function createAgent(options: AgentOptions): Agent {
  const log = options.logger.child({ component: "agent", iface: options.iface });
  const stateFile = path.join(options.stateDir, "state.json");
  const abort = new AbortController();
  let state: AgentState | undefined;
  let applied = 0;
  let applying: Promise<void> = Promise.resolve();
  let heartbeatTimer: NodeJS.Timeout | undefined;
  let following: Promise<void> | undefined;
  let warnedNoResolver = false;
  let relayLink: RelayLink | undefined;
  let relayMode: RelayMode | undefined;
  let relayTimer: NodeJS.Timeout | undefined;
  /** The hub's public key, from the last config applied (its first peer is always the hub). */
  let hubPublicKey: string | undefined;
  /** The hub's next key while a rotation is under way (from the last config applied). */
  let nextHubPublicKey: string | undefined;
  let hubKeyTimer: NodeJS.Timeout | undefined;
  let hubKeyDriver: WgDriver | undefined;
  let hubKeyPolling = false;

  /** Runs `work` after every config application or relay step before it, never alongside one. */
  function exclusive(work: () => Promise<void>): Promise<void> {
    applying = applying.catch(() => {}).then(work);
    return applying;
  }

  async function register(): Promise<AgentState> {
    if (!options.enrollmentKey) {
      throw new Error(`no state in ${stateFile} and no AGENT_ENROLLMENT_KEY to register with`);
    }
    const keys = generateKeyPair();
    const reg = await options.api.register(options.enrollmentKey, {
      publicKey: keys.publicKey,
      ...(options.name ? { name: options.name } : {}),
      ...(options.natType ? { networkInfo: { natType: options.natType } } : {}),
    });
    const fresh = {
      nodeId: reg.nodeId,
      token: reg.token,
      privateKey: keys.privateKey,
      publicKey: keys.publicKey,
      keyCreatedAt: new Date().toISOString(),
    };
    await saveState(stateFile, fresh);
    log.info({ nodeId: reg.nodeId, ip4: reg.ip4 }, "registered");
    return fresh;
  }

  /**
   * Fetches and applies the current config, one application at a time. The fetch comes first, so a
   * slow answer does not hold back other work on the interface (the hub key poll); a config older
   * than the one applied meanwhile is dropped.
   */
  async function applyCurrent(reason: string): Promise<void> {
    const { text, version } = await options.api.fetchConfig(state!.nodeId, state!.token);
    return exclusive(async () => {
      if (version < applied) return;
      const s = state!;
      const config = parseWgQuickConfig(text);
      const plan = hubKeyPlan({
        config,
        named: nextHubKeyOf(text),
        hubPublicKey,
        nextHubPublicKey,
      });
      if (plan.held) {
        // The hub switched keys but has not shaken hands with this node under the new one yet: the
        // interface stays as it is (the poll moves it), and the whole config is applied after that.
        applied = version;
        log.info({ version, reason }, "config held until the new hub key has shaken hands");
        return;
      }
      const result = await applyWgQuickConfig(plan.config, {
        iface: options.iface,
        netns: options.netns,
        driver: options.driver,
        privateKey: s.privateKey,
        ...(relayMode ? { endpointOverrides: relayMode.relayEndpoints() } : {}),
      });
      relayMode?.useConfig(config);
      hubPublicKey = plan.hubPublicKey;
      const dns = await applyDns(config.interface.dns, { iface: options.iface, netns: options.netns });
      if (dns.method === "none" && config.interface.dns.length > 0 && !warnedNoResolver) {
        warnedNoResolver = true;
        log.warn(
          { dns: config.interface.dns },
          "the network sets DNS but this host has no resolvconf or resolvectl; DNS is not set",
        );
      }
      applied = version;
      followHubKey(plan.nextHubPublicKey);
      log.info(
        {
          version,
          reason,
          writes: result.writes,
          plan: result.plan.reason,
          routes: { added: result.link.addRoutes, removed: result.link.removeRoutes },
          ...(dns.changed ? { dns: config.interface.dns } : {}),
        },
        "config applied",
      );
    });
  }

  /**
   * Reads the interface every HUB_KEY_POLL_MS while a hub key rotation is under way, and moves the
   * hub's addresses to its next key as soon as that key has shaken hands (`hubKeyStep`).
   */
  function followHubKey(next: string | undefined): void {
    nextHubPublicKey = next;
    if (next && !hubKeyTimer) {
      hubKeyTimer = setInterval(() => void pollHubKey(), HUB_KEY_POLL_MS);
      log.info({ hubPublicKey, nextHubPublicKey: next }, "hub key rotation under way");
      // Tell the server at once that this node holds the next key: the hub switches once all have.
      setTimeout(() => void beat(), 0);
    } else if (!next && hubKeyTimer) {
      clearInterval(hubKeyTimer);
      hubKeyTimer = undefined;
      hubKeyDriver?.close();
      hubKeyDriver = undefined;
    }
  }

  async function pollHubKey(): Promise<void> {
    if (hubKeyPolling) return;
    hubKeyPolling = true;
    try {
      let switched = false;
      await exclusive(async () => {
        const next = nextHubPublicKey;
        const hub = hubPublicKey;
        if (!next || !hub) return;
        hubKeyDriver ??= openDriver(options.iface, { driver: options.driver, netns: options.netns });
        const step = hubKeyStep({
          hubPublicKey: hub,
          nextHubPublicKey: next,
          peers: (await hubKeyDriver.dump()).peers,
        });
        if (step.kind === "wait") return;
        if (step.kind === "move") await hubKeyDriver.apply(checkPlan(step.plan));
        log.info(
          { previousHubPublicKey: hub, hubPublicKey: next, moved: step.kind === "move" },
          "hub key switched",
        );
        hubPublicKey = next;
        followHubKey(undefined);
        switched = true;
      });
      // The config that names the new hub key is current by now (the hub switched after it was made).
      if (switched) await applyCurrent("hub key switched");
    } catch (err) {
      log.warn({ err }, "following the hub key rotation failed");
      hubKeyDriver?.close();
      hubKeyDriver = undefined;
    } finally {
      hubKeyPolling = false;
    }
  }

  /** Opens the relay and steps every mesh peer's path each `tickMs`. */
  function startRelay(relay: NonNullable<AgentOptions["relay"]>, s: AgentState): void {
    if (options.netns) {
      log.warn(
        { netns: options.netns },
        "relay mode needs the agent inside the interface's namespace (run it with ip netns exec, not AGENT_NETNS); peers are reached directly only",
      );
      return;
    }
    relayLink = createRelayLink({ url: relay.url, token: s.token, logger: options.logger });
    relayMode = createRelayMode({
      link: relayLink,
      iface: options.iface,
      driver: options.driver,
      timings: relay.timings,
      logger: options.logger,
    });
    relayLink.start();
    const mode = relayMode;
    relayTimer = setInterval(
      () => void exclusive(() => mode.tick()).catch((err) => log.warn({ err }, "relay step failed")),
      relay.tickMs ?? SECOND_MS,
    );
  }

  async function followLoop() {
    let backoff = SECOND_MS;
    while (!abort.signal.aborted) {
      try {
        await applyCurrent("connected");
        await options.api.follow(
          state!.nodeId,
          state!.token,
          (version) => {
            backoff = SECOND_MS;
            if (version > applied)
              void applyCurrent(`version ${version} announced`).catch((err) =>
                log.warn({ err }, "config apply failed"),
              );
          },
          abort.signal,
        );
      } catch (err) {
        if (abort.signal.aborted) return;
        if (err instanceof AgentApiError && err.status === 401)
          log.error({ err }, "the node token was refused; re-register");
        else log.warn({ err }, "config stream interrupted; reconnecting");
      }
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
    }
  }

  /** Where the node can be reached and whom it shook hands with; nothing when the interface is unreadable. */
  async function reach(): Promise<Partial<ReachReport>> {
    try {
      return await readReach({ iface: options.iface, netns: options.netns, driver: options.driver });
    } catch (err) {
      log.warn({ err }, "reading the interface for the heartbeat failed");
      return {};
    }
  }

  /** Sets the interface's private key, peers untouched: sessions restart under the new key at once. */
  async function setInterfaceKey(privateKey: string): Promise<void> {
    const driver = openDriver(options.iface, { driver: options.driver, netns: options.netns });
    try {
      await driver.setDevice({ privateKey });
    } finally {
      driver.close();
    }
  }

  /**
   * Rotates the node's key: makes a new pair (kept in the state file until the server answers), sends
   * the new public key with the proof of the current private key, and switches the interface to the
   * new key as soon as the server answers (its hub holds the new key by then). A refusal (4xx) drops
   * the new pair; any other failure keeps it for the next try.
   */
  function rotateKey(reason: string): Promise<void> {
    return exclusive(async () => {
      const s = state!;
      if (!hubPublicKey)
        throw new Error("no config applied yet, so the hub's key is unknown; rotating later");
      const next = s.pendingPrivateKey
        ? { privateKey: s.pendingPrivateKey, publicKey: publicKeyOf(s.pendingPrivateKey) }
        : generateKeyPair();
      if (!s.pendingPrivateKey) {
        state = { ...s, pendingPrivateKey: next.privateKey };
        await saveState(stateFile, state);
      }
      const claim = { nodeId: s.nodeId, oldPublicKey: s.publicKey, newPublicKey: next.publicKey };
      let answer: Awaited<ReturnType<AgentApi["rotateKey"]>>;
      try {
        answer = await options.api.rotateKey(s.nodeId, s.token, {
          publicKey: next.publicKey,
          proof: signKeyRotation(claim, s.privateKey, hubPublicKey),
        });
      } catch (err) {
        if (err instanceof AgentApiError && err.status >= 400 && err.status < 500) {
          state = { ...s, pendingPrivateKey: undefined };
          await saveState(stateFile, state);
        }
        throw err;
      }
      await setInterfaceKey(next.privateKey);
      const { pendingPrivateKey: _done, ...rest } = s;
      state = {
        ...rest,
        privateKey: next.privateKey,
        publicKey: next.publicKey,
        keyCreatedAt: new Date().toISOString(),
      };
      await saveState(stateFile, state);
      log.info(
        { reason, publicKey: next.publicKey, previousPublicKey: s.publicKey, hubApplied: answer.hubApplied },
        "key rotated",
      );
    });
  }

  /** The scheduled rotation is due: the key is `rotateKeyDays` old. */
  function rotationDue(): boolean {
    const days = options.rotateKeyDays ?? 0;
    if (days <= 0 || !state?.keyCreatedAt) return false;
    return Date.now() - Date.parse(state.keyCreatedAt) >= days * DAY_MS;
  }

  async function rotateIfAsked(asked: boolean): Promise<void> {
    const reason = state?.pendingPrivateKey
      ? "an earlier rotation was not confirmed"
      : asked
        ? "an operator asked"
        : rotationDue()
          ? "the key reached its rotation age"
          : undefined;
    if (!reason) return;
    try {
      await rotateKey(reason);
      await applyCurrent("key rotated");
    } catch (err) {
      log.warn({ err }, "key rotation failed");
    }
  }

  async function beat() {
    try {
      const answer = await options.api.heartbeat(state!.nodeId, state!.token, {
        metrics: metrics(),
        configVersion: applied,
        ...(options.agentVersion ? { agentVersion: options.agentVersion } : {}),
        ...(await reach()),
      });
      if (answer.configVersion > applied) await applyCurrent("heartbeat saw a newer version");
      await rotateIfAsked(answer.rotateKey === true);
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  }

  return {
    get appliedVersion() {
      return applied;
    },
    get publicKey() {
      return state?.publicKey;
    },
    async start() {
      state = (await loadState(stateFile)) ?? (await register());
      if (!state.keyCreatedAt) {
        // A state file from before scheduled rotations: its key's age counts from now.
        state = { ...state, keyCreatedAt: new Date().toISOString() };
        await saveState(stateFile, state);
      }
      if (options.relay) startRelay(options.relay, state);
      await applyCurrent("start");
      following = followLoop();
      await beat();
      heartbeatTimer = setInterval(() => void beat(), options.heartbeatSeconds * SECOND_MS);
      return state;
    },
    async stop() {
      abort.abort();
      clearInterval(heartbeatTimer);
      clearInterval(relayTimer);
      clearInterval(hubKeyTimer);
      await following;
      await applying.catch(() => {});
      relayLink?.stop();
      relayMode?.stop();
      hubKeyDriver?.close();
    },
  };
}
