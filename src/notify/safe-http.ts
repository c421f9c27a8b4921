/**
 * Outbound HTTP for webhooks, safe against server-side request forgery: https only, no credentials in
 * the URL, every address the name resolves to is checked (`blockedReason`) and the connection is
 * pinned to the checked addresses, so a DNS answer that changes between check and connect (rebinding)
 * cannot redirect it. Redirects are never followed. `allowPrivate` (tests, labs) lifts the address
 * check and allows `http:`.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import type { LookupFunction } from "node:net";
import net from "node:net";
import { blockedReason } from "./addresses.js";

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (the port the SSRF guard checks). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

export interface SafeHttpOptions {
  allowPrivate: boolean;
  timeoutMs: number;
  resolver?: Resolver;
  /** Bytes of the response body kept (the rest is discarded unread). */
  maxBodyBytes?: number;
}

/** Why a URL was refused before any connection was made. */
export class UrlRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UrlRefusedError";
  }
}

export type HttpOutcome =
  | { kind: "response"; status: number; headers: Record<string, string>; body: string; durationMs: number }
  | { kind: "error"; refused: boolean; error: string; durationMs: number };

const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/** `https://host/path/****`: the URL without query, credentials or its last path segment (Discord's token). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    const segments = u.pathname.split("/");
    const last = segments.length - 1;
    if (last >= 1 && segments[last]!.length > 0) segments[last] = "****";
    return `${u.protocol}//${u.host}${segments.join("/")}${u.search ? "?****" : ""}`;
  } catch {
    return "(invalid URL)";
  }
}

/** Parses and checks the form of a webhook URL. Throws UrlRefusedError naming the problem. */
export function parseWebhookUrl(raw: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlRefusedError("webhookUrl is not a valid URL");
  }
  if (url.protocol !== "https:" && !(allowPrivate && url.protocol === "http:")) {
    throw new UrlRefusedError(`webhookUrl must use https (got ${url.protocol.replace(":", "")})`);
  }
  if (url.username || url.password) throw new UrlRefusedError("webhookUrl must not carry credentials");
  if (!url.hostname) throw new UrlRefusedError("webhookUrl has no host");
  return url;
}

/**
 * Resolves the URL's host and checks every address. Returns the addresses to connect to.
 * Throws UrlRefusedError when the URL's form is wrong, the name does not resolve, or any address
 * is private, loopback, link-local or otherwise internal (unless `allowPrivate`).
 */
export async function resolveSafely(
  url: URL,
  options: Pick<SafeHttpOptions, "allowPrivate" | "resolver">,
): Promise<ResolvedAddress[]> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let addresses: ResolvedAddress[];
  const literal = net.isIP(host);
  if (literal) addresses = [{ address: host, family: literal === 6 ? 6 : 4 }];
  else {
    try {
      addresses = await (options.resolver ?? systemResolver)(host);
    } catch (err) {
      throw new UrlRefusedError(
        `webhook host ${host} does not resolve (${(err as NodeJS.ErrnoException).code ?? "lookup failed"})`,
      );
    }
    if (addresses.length === 0) throw new UrlRefusedError(`webhook host ${host} has no addresses`);
  }
  if (!options.allowPrivate) {
    for (const a of addresses) {
      const reason = blockedReason(a.address);
      if (reason) {
        throw new UrlRefusedError(
          `webhook host ${host} resolves to ${a.address}, a ${reason} address; webhooks may only reach public addresses`,
        );
      }
    }
  }
  return addresses;
}

/** A `lookup` that answers with the addresses already checked, never asking DNS again. */
function pinnedLookup(addresses: ResolvedAddress[]): LookupFunction {
  return ((_hostname: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (opts?.all) callback(null, addresses);
    else callback(null, addresses[0]!.address, addresses[0]!.family);
  }) as unknown as LookupFunction;
}

/**
 * POSTs `body` to `url` through the SSRF guard. Never throws: a refused URL, a network error or a
 * timeout is an `error` outcome (`refused` when the guard said no); any HTTP answer, 3xx included
 * (redirects are not followed), is a `response` with at most `maxBodyBytes` of its body.
 */
export async function safePost(
  rawUrl: string,
  request: { headers: Record<string, string>; body: string },
  options: SafeHttpOptions,
): Promise<HttpOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let url: URL;
  let addresses: ResolvedAddress[];
  try {
    url = parseWebhookUrl(rawUrl, options.allowPrivate);
    addresses = await resolveSafely(url, options);
  } catch (err) {
    return { kind: "error", refused: true, error: (err as Error).message, durationMs: elapsed() };
  }
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const client = url.protocol === "https:" ? https : http;

  return new Promise<HttpOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: HttpOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    const req = client.request(
      url,
      {
        method: "POST",
        headers: {
          ...request.headers,
          "Content-Length": String(Buffer.byteLength(request.body)),
          "User-Agent": "wiresync-webhooks/1",
        },
        lookup: pinnedLookup(addresses),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on("data", (chunk: Buffer) => {
          if (kept < maxBody) {
            chunks.push(chunk.subarray(0, maxBody - kept));
            kept += Math.min(chunk.length, maxBody - kept);
          }
        });
        const done = () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
          }
          finish({
            kind: "response",
            status: res.statusCode ?? 0,
            headers,
            body: Buffer.concat(chunks).toString("utf8"),
            durationMs: elapsed(),
          });
          res.destroy();
        };
        res.on("end", done);
        res.on("error", done);
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on("error", (err) =>
      finish({ kind: "error", refused: false, error: describeNetworkError(err), durationMs: elapsed() }),
    );
    req.end(request.body);
  });
}

function describeNetworkError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${code}: ${err.message}` : err.message;
}
