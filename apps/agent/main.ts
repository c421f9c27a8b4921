/**
 * `wiresync-agent`: runs on a node. Registers with `AGENT_ENROLLMENT_KEY` on first start (state in
 * `AGENT_STATE_DIR`, mode 0600), keeps `AGENT_INTERFACE` configured from the control plane, follows
 * config announcements and sends heartbeats; rotates the node's key when an operator asks or when it is
 * `AGENT_ROTATE_KEY_DAYS` old; relays mesh peers it cannot reach directly through the
 * API's WebSocket relay (`AGENT_RELAY`). Needs root (it manages a WireGuard interface).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createAgent, DEFAULT_TIMINGS, httpAgentApi } from "../../src/agent/index.js";
import { loadAgentConfig } from "../../src/config.js";
import { createLogger } from "../../src/logger.js";

const config = loadAgentConfig();
const logger = createLogger({ level: config.logLevel, pretty: false });
const agent = createAgent({
  api: httpAgentApi(config.url),
  stateDir: config.stateDir,
  iface: config.iface,
  netns: config.netns,
  driver: config.driver,
  enrollmentKey: config.enrollmentKey,
  name: config.name,
  natType: config.natType,
  heartbeatSeconds: config.heartbeatSeconds,
  rotateKeyDays: config.rotateKeyDays,
  agentVersion: ownVersion(),
  relay: config.relay && {
    url: config.url,
    timings: {
      ...DEFAULT_TIMINGS,
      relayAfterMs: config.relay.afterSeconds * 1_000,
      probeEveryMs: config.relay.probeSeconds * 1_000,
    },
  },
  logger,
});

try {
  const state = await agent.start();
  logger.info(
    { nodeId: state.nodeId, publicKey: state.publicKey, version: agent.appliedVersion },
    "agent running",
  );
} catch (err) {
  logger.error({ err }, "agent failed to start");
  process.exit(1);
}

async function shutdown(signal: string) {
  logger.info({ signal }, "agent stopping");
  await agent.stop();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown("SIGTERM"));
process.on("SIGINT", () => void shutdown("SIGINT"));

/** Compiled into the single-file build (apps/bundles); not defined when running from sources. */
declare const WIRESYNC_BUNDLE_VERSION: string | undefined;

/**
 * wiresync's version: compiled into the single-file build, else from its package.json, found from
 * sources (tsx) or from `dist/`; none if absent.
 */
function ownVersion(): string | undefined {
  if (typeof WIRESYNC_BUNDLE_VERSION === "string") return WIRESYNC_BUNDLE_VERSION;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "wiresync") return pkg.version;
    } catch {
      // Not here: look one folder up.
    }
  }
  return undefined;
}
