/**
 * Local HTTP servers that play Discord, a generic receiver and Resend, so notify tests never touch
 * the network. Each records every request it gets.
 */
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** `performance.now()` when the request finished arriving. */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Hold the answer this long (lets a test kill a worker while it waits). */
  delayMs?: number;
  /** Hold the answer until this settles (a fault test answers only after its next kill). */
  hold?: Promise<unknown>;
}

export interface StandIn {
  url: string;
  received: Received[];
  /** Changes how the next requests are answered. */
  reply: (handler: (req: Received, index: number) => Reply) => void;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 that answers 204 until told otherwise. */
export async function startStandIn(
  handler: (req: Received, index: number) => Reply = () => ({ status: 204 }),
): Promise<StandIn> {
  const received: Received[] = [];
  let current = handler;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: performance.now(),
      };
      const index = received.push(r) - 1;
      const reply = current(r, index);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(reply.status, { "Content-Type": "application/json", ...reply.headers });
        res.end(reply.body ?? "");
      };
      const delayed = () => (reply.delayMs ? setTimeout(send, reply.delayMs) : send());
      if (reply.hold) void reply.hold.then(delayed);
      else delayed();
    });
  });
  server.keepAliveTimeout = 1;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    reply(h) {
      current = h;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ResendStandIn extends StandIn {
  /** Emails accepted, by idempotency key: the first send of each key. */
  accepted: Map<string, { id: string; body: Record<string, unknown> }>;
  /** Requests per idempotency key (more than one = a retry that Resend deduplicated). */
  requestsByKey: Map<string, number>;
  /** Whether to fail the next requests with a status before accepting. */
  failNext(count: number, status: number): void;
}

/**
 * A Resend stand-in for `POST /emails`: checks the bearer key, and like Resend answers a repeated
 * `Idempotency-Key` with the first answer instead of sending again.
 */
export async function startResendStandIn(
  apiKey: string,
  delay: () => Pick<Reply, "delayMs" | "hold"> = () => ({}),
): Promise<ResendStandIn> {
  const accepted = new Map<string, { id: string; body: Record<string, unknown> }>();
  const requestsByKey = new Map<string, number>();
  let failures = { count: 0, status: 500 };
  const standIn = await startStandIn((req) => {
    if (req.method !== "POST" || req.path !== "/emails") return { status: 404, body: '{"name":"not_found"}' };
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      return {
        status: 401,
        body: JSON.stringify({ name: "validation_error", message: "API key is invalid" }),
      };
    }
    const key = String(req.headers["idempotency-key"] ?? "");
    requestsByKey.set(key, (requestsByKey.get(key) ?? 0) + 1);
    if (failures.count > 0) {
      failures.count -= 1;
      return {
        status: failures.status,
        body: JSON.stringify({
          name: "internal_server_error",
          message: "try later",
          statusCode: failures.status,
        }),
      };
    }
    const existing = key ? accepted.get(key) : undefined;
    if (existing) return { status: 200, body: JSON.stringify({ id: existing.id }), ...delay() };
    const id = randomUUID();
    if (key) accepted.set(key, { id, body: JSON.parse(req.body) as Record<string, unknown> });
    return { status: 200, body: JSON.stringify({ id }), ...delay() };
  });
  return {
    ...standIn,
    accepted,
    requestsByKey,
    failNext(count, status) {
      failures = { count, status };
    },
  };
}
