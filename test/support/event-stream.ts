/**
 * Clients of the live event stream for tests: an SSE reader over fetch and a WebSocket one, each
 * keeping every message it got, with a poll-until helper.
 */
import { vi } from "vitest";
import WebSocket from "ws";

export interface StreamMessage {
  /** SSE `id` (stream position), when the message had one. */
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

export interface StreamClient {
  readonly messages: StreamMessage[];
  /** Messages with an id (events), in arrival order. */
  events(): StreamMessage[];
  /** Polls until `predicate` holds over the messages so far. */
  waitFor(predicate: (messages: StreamMessage[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

function clientOf(messages: StreamMessage[], close: () => void): StreamClient {
  return {
    messages,
    events: () => messages.filter((m) => m.id !== undefined),
    waitFor: (predicate, what, timeoutMs = 15_000) =>
      vi.waitFor(
        () => {
          if (!predicate(messages))
            throw new Error(
              `waiting for ${what}; got ${JSON.stringify(messages.map((m) => [m.id, m.event]))}`,
            );
        },
        { timeout: timeoutMs, interval: 25 },
      ),
    close,
  };
}

/**
 * Opens `url` as server-sent events. Resolves once the response is 200 (rejects with the status and
 * body otherwise); the reader keeps filling `messages` until `close()` or the server ends it, when
 * `ended` resolves.
 */
export async function openSse(
  url: string,
  headers: Record<string, string> = {},
): Promise<StreamClient & { ended: Promise<void> }> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: { Accept: "text/event-stream", ...headers },
    signal: abort.signal,
  });
  if (res.status !== 200)
    throw Object.assign(new Error(`SSE ${res.status}: ${await res.text()}`), { status: res.status });
  const messages: StreamMessage[] = [];
  const ended = (async () => {
    const decoder = new TextDecoder();
    let text = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        text += decoder.decode(chunk, { stream: true });
        let end = text.indexOf("\n\n");
        while (end >= 0) {
          const block = text.slice(0, end);
          text = text.slice(end + 2);
          end = text.indexOf("\n\n");
          const fields = Object.fromEntries(
            block
              .split("\n")
              .filter((l) => l && !l.startsWith(":"))
              .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trimStart()]),
          );
          if (fields.data === undefined) continue;
          messages.push({
            ...(fields.id !== undefined ? { id: fields.id } : {}),
            event: fields.event ?? "message",
            data: JSON.parse(fields.data),
          });
        }
      }
    } catch {
      // Aborted by close() or cut by the server: the test sees what arrived.
    }
  })();
  return { ...clientOf(messages, () => abort.abort()), ended };
}

/** A WebSocket client of `/ws`; resolves once open (rejects with the HTTP status of a refusal). */
export async function openWs(
  url: string,
  headers: Record<string, string> = {},
): Promise<StreamClient & { send(message: unknown): void; closed: Promise<number> }> {
  const ws = new WebSocket(url, { headers });
  const messages: StreamMessage[] = [];
  ws.on("message", (raw) => {
    const frame = JSON.parse(String(raw)) as Record<string, unknown>;
    messages.push({
      ...(typeof frame.id === "string" ? { id: frame.id } : {}),
      event: String(frame.type),
      data: frame,
    });
  });
  const closed = new Promise<number>((resolve) => ws.on("close", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) =>
      reject(Object.assign(new Error(`WS ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once("error", reject);
  });
  return {
    ...clientOf(messages, () => ws.close()),
    send: (message) => ws.send(JSON.stringify(message)),
    closed,
  };
}
