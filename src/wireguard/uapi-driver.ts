import { lookup } from "node:dns/promises";
import { createConnection, type Socket } from "node:net";
import { formatEndpoint, parseEndpoint } from "./address.js";
import { publicKeyOf } from "./keys.js";
import { isEmptyPlan } from "./plan.js";
import type { DeviceSettings, WgDriver, WgPlan, WgState } from "./types.js";
import { buildUapiDeviceSet, buildUapiSet, parseUapiGet, splitUapiResponse, UapiPeerMemo } from "./uapi.js";
import { WireGuardError } from "./wireguard.errors.js";

/** Where wireguard-go (and boringtun) put their userspace API sockets. */
export const UAPI_SOCKET_DIR = "/var/run/wireguard";

/**
 * Path of an interface's userspace API socket. Foot-gun: it depends only on the name, not on the
 * network namespace, so interface names must be unique across all namespaces of a host.
 */
export function uapiSocketPath(iface: string, socketDir = UAPI_SOCKET_DIR): string {
  return `${socketDir}/${iface}.sock`;
}

export interface UapiDriverOptions {
  socketDir?: string;
  /** Per request, from write to the end of the response. Default 30 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const LF = 10;
const SMALL_ANSWER_BYTES = 4096;

/**
 * Speaks the userspace API over the interface's unix socket: no process per call, one connection
 * kept open, requests strictly one at a time (wireguard-go reads a request with a buffered scanner
 * that swallows whatever follows it, so pipelining corrupts the stream). A plan is one `set=1` request.
 */
export class UapiDriver implements WgDriver {
  readonly kind = "uapi" as const;
  readonly name: string;
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private socket: Socket | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight = 0;
  // Deriving the public key costs ~2 ms; the private key rarely changes between dumps. Private
  // fields: a logged or serialised driver shows neither the key nor the memo.
  #derived: { privateKey: string; publicKey: string } | null = null;
  // Idle peers answer the same lines get after get; those are not parsed again.
  readonly #memo = new UapiPeerMemo();
  /**
   * Where gets are read, kept between them: a fresh 3 MB buffer per get costs its page faults
   * (~1 ms). Grown as answers grow; the text is copied out of it before the next request is sent.
   */
  #getBuffer = Buffer.allocUnsafe(SMALL_ANSWER_BYTES);

  constructor(name: string, options: UapiDriverOptions = {}) {
    this.name = name;
    this.socketPath = uapiSocketPath(name, options.socketDir);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Reads the interface with one `get=1`. Throws `WireGuardError` when it cannot. */
  async dump(): Promise<WgState> {
    const { body, errno } = await this.exchange(() => "get=1\n\n", "get");
    if (errno !== 0) throw this.refused("get", errno);
    return parseUapiGet(
      body,
      (privateKey) => {
        if (this.#derived?.privateKey !== privateKey)
          this.#derived = { privateKey, publicKey: publicKeyOf(privateKey) };
        return this.#derived.publicKey;
      },
      this.#memo,
    );
  }

  /**
   * Applies the plan as one `set=1` write (none for an empty plan). Hostname endpoints are resolved
   * first. Throws VALIDATION_FAILED before writing for a bad plan, `WireGuardError` on an errno.
   */
  async apply(plan: WgPlan): Promise<{ writes: number }> {
    if (isEmptyPlan(plan)) return { writes: 0 };
    // Resolved and built inside the queue, so requests reach the interface in call order.
    const { errno } = await this.exchange(async () => {
      const resolved = await resolveHostnames(plan);
      return buildUapiSet(plan, (endpoint) => resolved.get(endpoint) ?? endpoint);
    }, "set");
    if (errno !== 0) throw this.refused("set", errno);
    return { writes: 1 };
  }

  /** Sets interface-level settings in one `set=1` write. */
  async setDevice(settings: DeviceSettings): Promise<void> {
    const { errno } = await this.exchange(() => buildUapiDeviceSet(settings), "set device");
    if (errno !== 0) throw this.refused("set device", errno);
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private refused(operation: string, errno: number): WireGuardError {
    return new WireGuardError(`userspace API ${operation} on ${this.name} failed with errno ${errno}`, {
      iface: this.name,
      operation,
      errno,
    });
  }

  /**
   * Queues a request behind any in flight, so there is never more than one on the connection and
   * requests run in call order. `build` runs when the request's turn comes.
   */
  private exchange(
    build: () => string | Promise<string>,
    operation: string,
  ): Promise<{ body: string; errno: number }> {
    const run = async () => {
      const request = build();
      const response = await this.send(typeof request === "string" ? request : await request, operation);
      // IMPORTANT: a failed set may have left the rest of our request unread on the socket; drop the
      // connection before the next queued request, so that text is never parsed as an operation.
      if (response.errno !== 0) this.close();
      return response;
    };
    // With nothing in flight the request is written before this returns, so the caller can do its
    // own work (preparing desired peers) while the daemon answers.
    const result = this.inFlight === 0 ? run() : this.tail.then(run);
    this.inFlight++;
    this.tail = result.catch(() => {}).finally(() => this.inFlight--);
    return result;
  }

  private async connect(operation: string): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return this.socket;
    const socket = createConnection(this.socketPath);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", (err: NodeJS.ErrnoException) => {
        const why =
          err.code === "ENOENT" || err.code === "ECONNREFUSED"
            ? "no userspace API is listening (is wireguard-go running for this interface?)"
            : err.code === "EACCES"
              ? "the userspace API socket is root-only"
              : "cannot connect to the userspace API";
        reject(
          new WireGuardError(`${why}: ${this.socketPath}`, { iface: this.name, operation }, { cause: err }),
        );
      });
    });
    // Errors while idle just drop the connection; the next request reconnects.
    socket.on("error", () => {});
    socket.on("close", () => {
      if (this.socket === socket) this.socket = null;
    });
    socket.unref();
    this.socket = socket;
    return socket;
  }

  /** Writes `request` at once when connected (else once connected) and reads the response. */
  private send(request: string, operation: string): Promise<{ body: string; errno: number }> {
    const open = this.socket && !this.socket.destroyed ? this.socket : null;
    return open
      ? this.sendOn(open, request, operation)
      : this.connect(operation).then((socket) => this.sendOn(socket, request, operation));
  }

  private async sendOn(
    socket: Socket,
    request: string,
    operation: string,
  ): Promise<{ body: string; errno: number }> {
    socket.ref();
    try {
      const text = await new Promise<string>((resolve, reject) => {
        // Copied into one buffer as they arrive (a get's into the one kept from the last get), so
        // nothing is left to join once the last one is in: a 10,000-peer answer is ~3 MB in ~50
        // chunks. The text is a copy: the buffer is free again once it is made.
        const isGet = operation === "get";
        let buffer = isGet ? this.#getBuffer : Buffer.allocUnsafe(SMALL_ANSWER_BYTES);
        let size = 0;
        let previousByte = -1;
        const done = (err: Error | null, value?: string) => {
          clearTimeout(timer);
          socket.off("data", onData);
          socket.off("close", onClose);
          socket.off("error", onError);
          if (err) reject(err);
          else resolve(value!);
        };
        const fail = (message: string, cause?: unknown) => {
          this.close();
          done(new WireGuardError(message, { iface: this.name, operation }, { cause }));
        };
        const onData = (chunk: Buffer) => {
          if (size + chunk.length > buffer.length) {
            const grown = Buffer.allocUnsafe(Math.max(2 * buffer.length, size + chunk.length));
            buffer.copy(grown, 0, 0, size);
            buffer = grown;
          }
          chunk.copy(buffer, size);
          size += chunk.length;
          const last = chunk[chunk.length - 1];
          const beforeLast = chunk.length >= 2 ? chunk[chunk.length - 2] : previousByte;
          previousByte = last ?? previousByte;
          // A response ends with its only blank line: `errno=N\n\n`.
          if (last !== LF || beforeLast !== LF) return;
          // Kept for the next get, unless the interface shrank a lot since the buffer grew.
          if (isGet)
            this.#getBuffer =
              size * 4 < buffer.length ? Buffer.allocUnsafe(Math.max(SMALL_ANSWER_BYTES, 2 * size)) : buffer;
          done(null, buffer.toString("latin1", 0, size));
        };
        const onClose = () => fail(`userspace API on ${this.name} closed the connection during ${operation}`);
        const onError = (err: Error) => fail(`userspace API ${operation} on ${this.name} failed`, err);
        const timer = setTimeout(
          () => fail(`userspace API ${operation} on ${this.name} timed out after ${this.timeoutMs} ms`),
          this.timeoutMs,
        );
        socket.on("data", onData);
        socket.once("close", onClose);
        socket.once("error", onError);
        socket.write(request);
      });
      return splitUapiResponse(text);
    } finally {
      socket.unref();
    }
  }
}

/** Resolves the hostname endpoints of a plan to `ip:port` (the userspace API takes IPs only). */
async function resolveHostnames(plan: WgPlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const endpoints = [...plan.add.map((p) => p.endpoint), ...plan.update.map((u) => u.endpoint)];
  for (const endpoint of endpoints) {
    if (endpoint == null) continue;
    let parsed: ReturnType<typeof parseEndpoint>;
    try {
      parsed = parseEndpoint(endpoint);
    } catch {
      continue; // validatePlan reports it with the peer's position.
    }
    if (parsed.isIp || out.has(parsed.text)) continue;
    const { address } = await lookup(parsed.host).catch((err: unknown) => {
      throw new WireGuardError(
        `cannot resolve endpoint host ${parsed.host}`,
        { iface: "", operation: "resolve" },
        {
          cause: err,
        },
      );
    });
    // Keyed by the canonical text: that is what buildUapiSet asks for after validating the plan.
    out.set(parsed.text, formatEndpoint(address, parsed.port));
  }
  return out;
}
