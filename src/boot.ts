/**
 * The first steps of every entry point: parse the environment (exit 1 on bad config), fill in
 * generated secrets, create the root logger. The generated admin key is printed once, to the
 * terminal, never to the log.
 */
import { loadConfig } from "./config.js";
import type { Logger } from "./logger.js";
import { createLogger, F } from "./logger.js";
import type { ResolvedSecrets } from "./secrets.js";
import { resolveSecrets } from "./secrets.js";

export interface Booted {
  config: ResolvedSecrets["config"];
  logger: Logger;
}

/**
 * Boots an entry point. Its logger carries `role` (api, worker, standalone), not `component`: the
 * components under it (`scheduler`, `email`, …) add their own `component`, and a key twice in one
 * JSON line is not JSON every reader understands.
 */
export async function boot(role: string): Promise<Booted> {
  const base = loadConfig();
  let resolved: ResolvedSecrets;
  try {
    resolved = await resolveSecrets(base);
  } catch (err) {
    process.stderr.write(`wiresync: ${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ level: base.log.level, pretty: base.log.pretty }).child({ [F.role]: role });
  if (resolved.generatedApiKey) {
    process.stdout.write(
      `${[
        "",
        "  wiresync generated its secrets on first start:",
        `    ${resolved.secretsPath} (mode 0600)`,
        "",
        "  Admin API key (shown once; it is also in that file):",
        `    ${resolved.generatedApiKey}`,
        "",
      ].join("\n")}\n`,
    );
  }
  return { config: resolved.config, logger };
}
