/**
 * A TCP proxy in front of Postgres that logs the statements its clients run: the text of each simple
 * query, and of each prepared statement every time it is bound (postgres.js parses a statement once
 * per connection and binds it by name afterwards). For tests that count round trips.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

/** Reads the frontend messages of one connection, after its startup packet. */
function frontendReader(onStatement: (text: string) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let started = false;
  /** Prepared statement name → its text ("" is the unnamed statement). */
  const prepared = new Map<string, string>();
  const cstring = (buf: Buffer, at: number): [string, number] => {
    const end = buf.indexOf(0, at);
    return [buf.toString("utf8", at, end), end + 1];
  };
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      if (!started) {
        // Startup, SSL or cancel request: a length, no type byte.
        if (pending.length < 4) return;
        const length = pending.readInt32BE(0);
        if (pending.length < length) return;
        const code = pending.readInt32BE(4);
        pending = pending.subarray(length);
        if (code !== 80877103) started = true; // 80877103: SSLRequest, the startup packet follows
        continue;
      }
      if (pending.length < 5) return;
      const type = String.fromCharCode(pending[0]!);
      const length = pending.readInt32BE(1);
      if (pending.length < 1 + length) return;
      const body = pending.subarray(5, 1 + length);
      pending = pending.subarray(1 + length);
      if (type === "Q") onStatement(cstring(body, 0)[0]);
      else if (type === "P") {
        const [name, at] = cstring(body, 0);
        prepared.set(name, cstring(body, at)[0]);
      } else if (type === "B") {
        const [, at] = cstring(body, 0); // the portal
        onStatement(prepared.get(cstring(body, at)[0]) ?? "?");
      }
    }
  };
}

export class StatementLog {
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  /** Every statement run through the proxy, in order. */
  readonly statements: string[] = [];
  port = 0;

  constructor(readonly target: { host: string; port: number }) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = createConnection(this.target);
      this.#sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      for (const s of [client, upstream]) {
        s.on("error", drop);
        s.on("close", drop);
      }
      const read = frontendReader((text) => this.statements.push(text));
      client.on("data", (chunk: Buffer) => {
        read(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** `url` (a postgres:// URL) pointed at this proxy. */
  through(url: string): string {
    const u = new URL(url);
    u.hostname = "127.0.0.1";
    u.port = String(this.port);
    return u.toString();
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}
