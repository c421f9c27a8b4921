/**
 * The root pino logger. Everything else logs through children (`logger.child({ component })`).
 * Redaction removes secrets wherever they could appear in a log object; the message itself is a short
 * lowercase event name and never carries data.
 */

import type { Logger } from "pino";
import { pino } from "pino";

export type { Logger };

/** Fields that hold secrets. Keep in step with the secret fields of our types. */
const SECRET_FIELDS = [
  "password",
  "passwordHash",
  "privateKey",
  "privateKeyEnc",
  "hubPrivateKeyEnc",
  "hubNextPrivateKeyEnc",
  "presharedKey",
  "tokenHash",
  "keyHash",
  "apiKey",
  "token",
  "secret",
  "jwtSecret",
  "encryptionKey",
  "credential",
  "turnSecret",
];

/**
 * Paths pino blanks in every log object: the request's credential headers, and each secret field at
 * the top, one and two levels down (a peer inside a plan inside a job). pino has no "any depth".
 */
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  'req.headers["x-node-token"]',
  ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
];

/** Log field names, shared so that every component spells them the same way. */
export const F = {
  component: "component",
  /** The process's role (api, worker, standalone), bound once at boot. */
  role: "role",
  requestId: "requestId",
  queue: "queue",
  jobId: "jobId",
  syncRunId: "syncRunId",
  networkId: "networkId",
  nodeId: "nodeId",
  err: "err",
} as const;

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  /** Where to write; defaults to stdout. Tests pass a stream to capture lines. */
  destination?: NodeJS.WritableStream;
}

/** Creates the root logger. Call once per process, in an entry point. */
export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
    base: { service: "wiresync" },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);
  if (options.pretty) {
    return pino({
      ...base,
      transport: { target: "pino-pretty", options: { colorize: true, singleLine: true } },
    });
  }
  return pino(base);
}

const SECRET_PARAM = /^(?:api_key|apikey|token|key|secret)$/i;

/**
 * Removes credentials from a URL before it is logged: `api_key`, `token` and similar query values.
 * Names are compared decoded, as the router reads them: `?api%5Fkey=` authenticates like `?api_key=`.
 */
export function redactUrl(url: string): string {
  return url.replace(/([?&])([^=&#]*)=([^&#]*)/g, (param, separator: string, name: string) =>
    SECRET_PARAM.test(decodeParamName(name)) ? `${separator}${name}=[REDACTED]` : param,
  );
}

function decodeParamName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll("+", " ")).trim();
  } catch {
    return name;
  }
}
