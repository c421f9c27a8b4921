/**
 * What the `wiresync` CLI reads from the environment: where the API is and the key to call it with.
 * Kept apart from `config.ts` on purpose: that module builds the whole server schema when it loads,
 * about as long as the rest of a CLI call on a busy machine, and the CLI needs two variables of it.
 * It must stay free of dependencies.
 */

export interface CliConfig {
  /** The API's base URL, without a trailing slash. */
  readonly url: string;
  readonly apiKey: string | undefined;
}

export const DEFAULT_CLI_URL = "http://127.0.0.1:8080";

/**
 * Parses the CLI's variables (`WIRESYNC_URL`, `WIRESYNC_API_KEY`) from `source`. Returns the config,
 * or the problems, each naming the variable and the fix. Pure.
 */
export function parseCliConfig(
  source: Record<string, string | undefined>,
): { ok: true; config: CliConfig } | { ok: false; problems: string[] } {
  const url = source.WIRESYNC_URL?.trim() || DEFAULT_CLI_URL;
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
    return {
      ok: false,
      problems: [
        `WIRESYNC_URL: must be an http(s) URL such as ${DEFAULT_CLI_URL}, not ${JSON.stringify(url)}`,
      ],
    };
  }
  const apiKey = source.WIRESYNC_API_KEY?.trim() || undefined;
  return { ok: true, config: Object.freeze({ url: url.replace(/\/+$/, ""), apiKey }) };
}

/** Parses the CLI's environment; prints the problem and exits 1 when it is bad. */
export function loadCliConfig(): CliConfig {
  const result = parseCliConfig(process.env);
  if (!result.ok) {
    process.stderr.write(`wiresync: ${result.problems.join("; ")}\n`);
    process.exit(1);
  }
  return result.config;
}
