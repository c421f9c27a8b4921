/** Where the test servers are (from .env.test or the environment). Tests read nothing else. */
// biome-ignore lint/style/noProcessEnv: the test harness's one reader of the environment
const env = process.env;

export const TEST_DATABASE_URL = env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
export const TEST_REDIS_URL = env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const IS_CI = env.CI === "true";
/** Replays one run of the OpenAPI fuzz test (it prints the seed it used). */
export const FUZZ_SEED = env.FUZZ_SEED;
export const TEMPLATE_DB_ENV = "WIRESYNC_TEMPLATE_DB";

export function templateDatabaseName(): string {
  const name = env[TEMPLATE_DB_ENV];
  if (!name) throw new Error("the template database is unset: run tests through vitest (globalSetup)");
  return name;
}

export function setTemplateDatabaseName(name: string): void {
  env[TEMPLATE_DB_ENV] = name;
}

/** A copy of the environment for child processes, with overrides. */
export function childEnv(overrides: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}
