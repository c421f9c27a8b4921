/**
 * The CLI's side of the HTTP API: one request helper that turns problems into a message and exit 1,
 * and finding networks and nodes by name or id.
 */
import { loadCliConfig } from "../../src/cli-config.js";

export type Json = Record<string, unknown>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Prints `wiresync: <message>` to stderr and exits 1. */
export function fail(message: string): never {
  process.stderr.write(`wiresync: ${message}\n`);
  process.exit(1);
}

/** A request body sent as `text/plain` (a wg0.conf), not as JSON. */
export class PlainText {
  constructor(readonly text: string) {}
}

/** An HTTP answer as the CLI reads it. */
interface Answer {
  status: number;
  statusText: string;
  contentType: string;
  body: string;
}

/**
 * One request through `node:http` (or `node:https`, loaded only for an https URL), answered whole.
 * IMPORTANT: not `fetch`: Node loads fetch's implementation (undici, with http2, tls and zlib) on its
 * first call, about 300 ms of CPU, more than twice the rest of a CLI call; `node:http` costs ~15 ms.
 * Node's global agent keeps the connection alive for a command's next request (and lets the process
 * exit while it idles).
 */
async function send(
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Answer> {
  const { request } = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          statusText: res.statusMessage ?? "",
          contentType: res.headers["content-type"] ?? "",
          body: Buffer.concat(chunks).toString("utf8"),
        }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Calls the API with `WIRESYNC_API_KEY`. Returns the JSON body (or `{ text }` for other answers);
 * exits 1 with the status and the problem's message when the answer is not 2xx.
 */
export async function api(method: string, path: string, body?: unknown): Promise<Json> {
  const { url, apiKey } = loadCliConfig();
  if (!apiKey)
    fail("set WIRESYNC_API_KEY to an API key (create one in the dashboard or with POST /api/admin/api-keys)");
  const res = await send(
    method,
    new URL(`${url}${path}`),
    {
      "X-API-Key": apiKey,
      ...(body === undefined
        ? {}
        : { "Content-Type": body instanceof PlainText ? "text/plain" : "application/json" }),
    },
    body === undefined ? undefined : body instanceof PlainText ? body.text : JSON.stringify(body),
  ).catch((err: Error) => fail(`cannot reach ${url}: ${err.message}`));
  const ok = res.status >= 200 && res.status < 300;
  if (!res.contentType.includes("json")) {
    if (!ok) fail(`${res.status} ${res.statusText}`);
    return { text: res.body };
  }
  const payload = JSON.parse(res.body) as Json;
  if (!ok) fail(`${res.status} ${String((payload.error as Json | undefined)?.message ?? res.statusText)}`);
  return payload;
}

/** The `data` of an API answer. */
export const data = async <T = Json>(method: string, path: string, body?: unknown): Promise<T> =>
  (await api(method, path, body)).data as T;

/** The network named `ref` (its id or its name); exits 1 naming the known ones when none matches. */
export async function findNetwork(ref: string): Promise<Json> {
  const networks = await data<Json[]>("GET", "/api/v1/networks");
  const found = networks.find((n) => n.id === ref.toLowerCase()) ?? networks.find((n) => n.name === ref);
  if (!found)
    fail(`no network ${JSON.stringify(ref)} (networks: ${networks.map((n) => n.name).join(", ") || "none"})`);
  return found;
}

/**
 * The node named `ref` (its id, or its name, within `networkRef` when given); exits 1 when none
 * matches or when the name is taken in several networks (then `--network` tells which).
 */
export async function findNode(ref: string, networkRef?: string): Promise<Json> {
  if (UUID.test(ref)) return data("GET", `/api/v1/nodes/${ref.toLowerCase()}`);
  const q = new URLSearchParams({ q: ref, limit: "500" });
  if (networkRef) q.set("networkId", String((await findNetwork(networkRef)).id));
  const { items } = await data<{ items: Json[] }>("GET", `/api/v1/nodes?${q}`);
  const matches = items.filter((n) => n.name === ref);
  if (matches.length === 0)
    fail(`no node ${JSON.stringify(ref)}${networkRef ? ` in network ${networkRef}` : ""}`);
  if (matches.length > 1)
    fail(
      `${matches.length} nodes are named ${JSON.stringify(ref)} (in different networks); add --network NAME`,
    );
  return matches[0]!;
}
