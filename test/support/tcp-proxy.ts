/**
 * A TCP proxy for fault tests: it can be stopped (every connection cut, nothing listens), started
 * again on the same port, or stalled: every connection, open or new, stays open but nothing is
 * forwarded either way (a hung server or a partitioned network: the sockets never fail by themselves)
 * until `resume()`, which forwards what was held back.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

interface Pair {
  client: Socket;
  upstream: Socket | null;
}

export class TcpProxy {
  #server: Server | null = null;
  readonly #pairs = new Set<Pair>();
  #isStalled = false;
  port = 0;

  constructor(readonly target: { host: string; port: number }) {}

  get isStalled(): boolean {
    return this.#isStalled;
  }

  async start(): Promise<void> {
    const server = createServer((client) => {
      const pair: Pair = { client, upstream: null };
      this.#pairs.add(pair);
      const drop = () => {
        pair.client.destroy();
        pair.upstream?.destroy();
        this.#pairs.delete(pair);
      };
      client.on("error", drop);
      client.on("close", drop);
      if (this.#isStalled) client.pause();
      else this.#connect(pair, drop);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  #connect(pair: Pair, drop: () => void): void {
    const upstream = createConnection(this.target);
    pair.upstream = upstream;
    upstream.on("error", drop);
    upstream.on("close", drop);
    pair.client.pipe(upstream).pipe(pair.client);
  }

  /** Stops forwarding on every connection, open or new, without closing any. */
  stall(): void {
    this.#isStalled = true;
    for (const { client, upstream } of this.#pairs) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  /** Forwards again, on every connection (held-back bytes first). */
  resume(): void {
    this.#isStalled = false;
    for (const pair of this.#pairs) {
      const drop = () => {
        pair.client.destroy();
        pair.upstream?.destroy();
        this.#pairs.delete(pair);
      };
      if (pair.upstream) pair.client.pipe(pair.upstream).pipe(pair.client);
      else this.#connect(pair, drop);
    }
  }

  /** Connections open now (through the proxy). */
  get connections(): number {
    return this.#pairs.size;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    for (const { client, upstream } of this.#pairs) {
      client.destroy();
      upstream?.destroy();
    }
    this.#pairs.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
