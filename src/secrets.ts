/**
 * Bootstrap secrets: on a first start with no `API_KEY`, `JWT_SECRET` or `ENCRYPTION_KEY` set, generate
 * them into `DATA_DIR/secrets.json` (mode 0600) so the quick start needs no setup; later starts read the
 * same file. Values from the environment always win. Never logs a secret: the caller prints the
 * generated admin key once, to the operator's terminal.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Config } from "./config.js";
import { decodeKey } from "./config.js";

interface SecretsFile {
  apiKey: string;
  jwtSecret: string;
  encryptionKey: string;
}

export interface ResolvedSecrets {
  readonly config: Config & {
    readonly secrets: Config["secrets"] & { apiKey: string; jwtSecret: string; encryptionKey: Buffer };
  };
  /** The admin API key when this call created it (print it once); otherwise undefined. */
  readonly generatedApiKey: string | undefined;
  readonly secretsPath: string;
}

/** Generates a bootstrap admin key in the same `wsk_` family as stored API keys. */
export function generateBootstrapKey(): string {
  return `wsk_${randomBytes(32).toString("base64url")}`;
}

/**
 * Fills missing secrets from `DATA_DIR/secrets.json`, creating the file when needed.
 * Throws when the file exists but is unreadable or malformed (with its path and the fix).
 */
export async function resolveSecrets(config: Config): Promise<ResolvedSecrets> {
  const secretsPath = path.join(config.dataDir, "secrets.json");
  const { apiKey, jwtSecret, encryptionKey } = config.secrets;
  if (apiKey && jwtSecret && encryptionKey) {
    return { config: config as ResolvedSecrets["config"], generatedApiKey: undefined, secretsPath };
  }

  let stored = await readSecretsFile(secretsPath);
  let generatedApiKey: string | undefined;
  if (!stored) {
    stored = {
      apiKey: generateBootstrapKey(),
      jwtSecret: randomBytes(48).toString("base64url"),
      encryptionKey: randomBytes(32).toString("hex"),
    };
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(secretsPath, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flag: "wx" });
    await chmod(secretsPath, 0o600);
    if (!apiKey) generatedApiKey = stored.apiKey;
  }
  const merged = {
    ...config,
    secrets: {
      ...config.secrets,
      apiKey: apiKey ?? stored.apiKey,
      jwtSecret: jwtSecret ?? stored.jwtSecret,
      encryptionKey: encryptionKey ?? (decodeKey(stored.encryptionKey) as Buffer),
    },
  };
  return { config: Object.freeze(merged), generatedApiKey, secretsPath };
}

/**
 * The encryption keys of an installation, for commands that open its sealed data without starting it
 * (`wiresync restore`): `ENCRYPTION_KEY` from the environment, else the key in an existing
 * `DATA_DIR/secrets.json`. Only reads: never creates the file or any directory. Throws, naming both
 * places and never a key, when neither holds one, or when the file is unreadable or malformed.
 */
export async function readEncryptionKeys(
  config: Config,
): Promise<{ encryptionKey: Buffer; previousEncryptionKeys: readonly Buffer[] }> {
  const { encryptionKey, previousEncryptionKeys } = config.secrets;
  if (encryptionKey) return { encryptionKey, previousEncryptionKeys };
  const secretsPath = path.join(config.dataDir, "secrets.json");
  const stored = await readSecretsFile(secretsPath);
  if (!stored)
    throw new Error(
      `no encryption key: ENCRYPTION_KEY is unset and ${secretsPath} does not exist; set ENCRYPTION_KEY to the key of the installation the data comes from`,
    );
  return { encryptionKey: decodeKey(stored.encryptionKey) as Buffer, previousEncryptionKeys };
}

async function readSecretsFile(file: string): Promise<SecretsFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`reading ${file}: ${(err as Error).message}`, { cause: err });
  }
  let parsed: Partial<SecretsFile> | undefined;
  try {
    parsed = JSON.parse(text) as Partial<SecretsFile>;
  } catch {
    // Not the parser's message: it quotes the text around the fault, which is a secret here.
    parsed = undefined;
  }
  if (
    !parsed ||
    typeof parsed.apiKey !== "string" ||
    typeof parsed.jwtSecret !== "string" ||
    typeof parsed.encryptionKey !== "string" ||
    !decodeKey(parsed.encryptionKey)
  ) {
    throw new Error(
      `${file} is malformed: delete it to generate new secrets, or set them in the environment`,
    );
  }
  return parsed as SecretsFile;
}
