/**
 * The systemd units shipped for the agent (apps/agent/systemd) and the server processes
 * (apps/standalone/systemd): systemd's own `systemd-analyze verify` accepts them without a warning,
 * they start what this repository builds, restart on failure, read their settings from an
 * EnvironmentFile whose example names only variables wiresync knows, and hold only the capabilities
 * their work needs.
 */
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundles } from "../../../apps/bundles/build.js";
import { AgentEnvSchema, EnvSchema, parseConfig } from "../../../src/config.js";
import { IS_CI } from "../../support/env.js";

const exec = promisify(execFile);

const UNITS = {
  agent: "apps/agent/systemd/wiresync-agent.service",
  api: "apps/standalone/systemd/wiresync-api.service",
  worker: "apps/standalone/systemd/wiresync-worker.service",
  standalone: "apps/standalone/systemd/wiresync-standalone.service",
} as const;

type Unit = Record<string, Record<string, string[]>>;

/** A unit file as sections of keys, each with every value it is given (comments dropped). */
function parseUnit(text: string): Unit {
  const unit: Unit = {};
  let section: Record<string, string[]> | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = unit[header[1]!] ??= {};
      continue;
    }
    const eq = line.indexOf("=");
    if (!section || eq < 1) throw new Error(`not a unit line: ${JSON.stringify(raw)}`);
    const key = line.slice(0, eq);
    section[key] = [...(section[key] ?? []), line.slice(eq + 1)];
  }
  return unit;
}

/** `KEY=value` lines of an env file. */
function envKeys(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split("\n")
      .filter((l) => /^[A-Z_]+=/.test(l))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

const hasAnalyze = (() => {
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describe("systemd units", () => {
  const units = {} as Record<keyof typeof UNITS, Unit>;
  beforeAll(async () => {
    for (const [name, file] of Object.entries(UNITS))
      units[name as keyof typeof UNITS] = parseUnit(await readFile(file, "utf8"));
  });

  it.each(Object.keys(UNITS) as (keyof typeof UNITS)[])(
    "%s: restarts on failure, reads an EnvironmentFile, starts with the system",
    (name) => {
      const { Unit: head, Service: service, Install: install } = units[name];
      expect(head?.After?.join(" ")).toContain("network-online.target");
      expect(service?.Restart).toEqual(["on-failure"]);
      expect(service?.EnvironmentFile).toHaveLength(1);
      expect(service?.EnvironmentFile?.[0]).toMatch(/^\/etc\/wiresync\/(agent|wiresync)\.env$/);
      expect(service?.NoNewPrivileges).toEqual(["yes"]);
      expect(install?.WantedBy).toEqual(["multi-user.target"]);
    },
  );

  it("the agent runs the installed single file as root with the network capabilities only, keeping its state where it looks", () => {
    const s = units.agent.Service!;
    expect(s.ExecStart).toEqual(["/usr/local/bin/wiresync-agent"]);
    expect(s.CapabilityBoundingSet).toEqual(["CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE"]);
    expect(s.DeviceAllow).toEqual(["/dev/net/tun rw"]);
    expect(s.User).toBeUndefined();
    expect(`/var/lib/${s.StateDirectory?.[0]}`).toBe(
      AgentEnvSchema.parse({ WIRESYNC_URL: "http://x" }).AGENT_STATE_DIR,
    );
  });

  it("the server units start what `npm run build` compiles, the API with no capabilities at all", () => {
    const started = {
      api: ["dist/apps/api/main.js", "apps/api/main.ts"],
      worker: ["dist/workers/main.js", "workers/main.ts"],
      standalone: ["dist/apps/standalone/main.js", "apps/standalone/main.ts"],
    } as const;
    for (const [name, [built, source]] of Object.entries(started)) {
      const s = units[name as keyof typeof started].Service!;
      expect(s.ExecStart, name).toEqual([`/usr/bin/node ${built}`]);
      expect(s.WorkingDirectory, name).toEqual(["/opt/wiresync"]);
      expect(existsSync(source), source).toBe(true);
    }
    expect(units.api.Service!.CapabilityBoundingSet).toEqual([""]);
    expect(units.api.Service!.User).toEqual(["wiresync"]);
    for (const name of ["worker", "standalone"] as const) {
      expect(units[name].Service!.CapabilityBoundingSet, name).toEqual([
        "CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE",
      ]);
      expect(units[name].Service!.DeviceAllow, name).toEqual(["/dev/net/tun rw"]);
    }
  });

  it("the environment file examples name only variables wiresync reads, and parse once secrets are filled in", async () => {
    const agent = envKeys(await readFile("apps/agent/systemd/agent.env.example", "utf8"));
    expect(Object.keys(agent).filter((k) => !(k in AgentEnvSchema.shape))).toEqual([]);
    expect(AgentEnvSchema.safeParse({ ...agent, AGENT_ENROLLMENT_KEY: "wse_x" }).success).toBe(true);
    const server = envKeys(await readFile("apps/standalone/systemd/wiresync.env.example", "utf8"));
    expect(Object.keys(server).filter((k) => !(k in EnvSchema.shape))).toEqual([]);
    const filled = {
      ...server,
      JWT_SECRET: "j".repeat(64),
      ENCRYPTION_KEY: "ab".repeat(32),
      API_KEY: "wsk_0123456789abcdefghijklmnop",
    };
    expect(() => parseConfig(filled)).not.toThrow();
  });

  describe.skipIf(!hasAnalyze && !IS_CI)("systemd-analyze verify", () => {
    let scratch: string | undefined;
    afterAll(async () => {
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it("accepts every unit without a warning (the agent's ExecStart is the built single file)", async () => {
      expect(hasAnalyze, "systemd-analyze is missing (apt-get install systemd)").toBe(true);
      scratch = await mkdtemp(path.join(tmpdir(), "wiresync-units-"));
      // verify checks that ExecStart exists: point the agent's at a real build of the file it names.
      const [agentBundle] = (await buildBundles(path.join(scratch, "bin"))).filter(
        (b) => b.name === "wiresync-agent",
      );
      const files: string[] = [];
      for (const file of Object.values(UNITS)) {
        const text = (await readFile(file, "utf8")).replace(
          "/usr/local/bin/wiresync-agent",
          agentBundle!.file,
        );
        const copy = path.join(scratch, path.basename(file));
        await writeFile(copy, text);
        files.push(copy);
      }
      const { stdout, stderr } = await exec("systemd-analyze", ["verify", ...files]);
      expect(stderr).toBe("");
      expect(stdout).toBe("");
    }, 120_000);
  });
});
