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
import { generateKeyPair } from "../wireguard/index.js";
import type { AgentApi } from "./api-client.js";
import { AgentApiError } from "./api-client.js";
import { applyWgQuickConfig } from "./apply.js";
import { applyDns } from "./dns.js";
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

export interface AgentState {
  nodeId: string;
  token: string;
  privateKey: string;
  publicKey: string;
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
    };
    await saveState(stateFile, fresh);
    log.info({ nodeId: reg.nodeId, ip4: reg.ip4 }, "registered");
    return fresh;
  }

  /** Fetches and applies the current config, one application at a time. */
  function applyCurrent(reason: string): Promise<void> {
    return exclusive(async () => {
      const s = state!;
      const { text, version } = await options.api.fetchConfig(s.nodeId, s.token);
      const config = parseWgQuickConfig(text);
      const result = await applyWgQuickConfig(config, {
        iface: options.iface,
        netns: options.netns,
        driver: options.driver,
        privateKey: s.privateKey,
        ...(relayMode ? { endpointOverrides: relayMode.relayEndpoints() } : {}),
      });
      relayMode?.useConfig(config);
      const dns = await applyDns(config.interface.dns, { iface: options.iface, netns: options.netns });
      if (dns.method === "none" && config.interface.dns.length > 0 && !warnedNoResolver) {
        warnedNoResolver = true;
        log.warn(
          { dns: config.interface.dns },
          "the network sets DNS but this host has no resolvconf or resolvectl; DNS is not set",
        );
      }
      applied = version;
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

  async function beat() {
    try {
      const answer = await options.api.heartbeat(state!.nodeId, state!.token, {
        metrics: metrics(),
        configVersion: applied,
        ...(options.agentVersion ? { agentVersion: options.agentVersion } : {}),
        ...(await reach()),
      });
      if (answer.configVersion > applied) await applyCurrent("heartbeat saw a newer version");
    } catch (err) {
      log.warn({ err }, "heartbeat failed");
    }
  }

  return {
    get appliedVersion() {
      return applied;
    },
    async start() {
      state = (await loadState(stateFile)) ?? (await register());
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
      await following;
      await applying.catch(() => {});
      relayLink?.stop();
      relayMode?.stop();
    },
  };
}
