import { lookup } from "node:dns/promises";
import { createConnection, type Socket } from "node:net";
import { formatEndpoint, parseEndpoint } from "./address.js";
import { publicKeyOf } from "./keys.js";
import { isEmptyPlan } from "./plan.js";
import type { CheckedPlan, DeviceSettings, WgDriver, WgState } from "./types.js";
import { buildUapiDeviceSet, buildUapiSet, parseUapiAnswer, uapiStatus } from "./uapi.js";
import { UapiPeerMemo } from "./uapi-memo.js";
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
/** The read buffer's least size: a few hundred peers' answer. */
const READ_BUFFER_BYTES = 256 * 1024;
/**
 * The least room offered to each read. A read takes what the socket holds, up to the room (~200 KB
 * while wireguard-go writes a large answer), so a 10,000-peer answer arrives in ~15 reads.
 */
const MIN_READ_ROOM_BYTES = 64 * 1024;

/** Reads a successful answer's body, `answer[0, bodyEnd)`, before the read buffer is used again. */
type Decode<T> = (answer: Buffer, bodyEnd: number) => T;

interface Answer<T> {
  errno: number;
  /** The decoded body; undefined when the request failed (errno ≠ 0). */
  value: T | undefined;
}

interface PendingAnswer {
  decode: Decode<unknown>;
  settle: (err: Error | null, answer?: Answer<unknown>) => void;
}

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
  // Idle peers answer the same lines get after get; those are not decoded or parsed again.
  readonly #memo = new UapiPeerMemo();
  /**
   * Where answers are read: the socket reads straight into it (no chunk per read, nothing to copy or
   * join). Grown as answers grow. A get's answer is then kept by the memo, to compare the next one
   * with, and the next read goes into the answer the memo let go: two buffers take turns, since a
   * fresh 3 MB buffer per get costs its page faults (~1 ms). Other answers are read before the buffer
   * is used again.
   */
  #readBuffer: Buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  #readSize = 0;
  /** The request whose answer is being read (at most one: requests go one at a time). */
  #pending: PendingAnswer | null = null;

  constructor(name: string, options: UapiDriverOptions = {}) {
    this.name = name;
    this.socketPath = uapiSocketPath(name, options.socketDir);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Reads the interface with one `get=1`. Throws `WireGuardError` when it cannot. */
  async dump(): Promise<WgState> {
    const { errno, value } = await this.exchange(
      () => "get=1\n\n",
      "get",
      (answer, bodyEnd) => {
        const state = parseUapiAnswer(answer, bodyEnd, (privateKey) => this.derive(privateKey), this.#memo);
        // The memo keeps `answer` now: the next read goes into the one it let go.
        this.#readBuffer = nextReadBuffer(this.#memo.takeSpare(), bodyEnd);
        return state;
      },
    );
    if (errno !== 0) throw this.refused("get", errno);
    return value!;
  }

  private derive(privateKey: string): string {
    if (this.#derived?.privateKey !== privateKey)
      this.#derived = { privateKey, publicKey: publicKeyOf(privateKey) };
    return this.#derived.publicKey;
  }

  /**
   * Applies the plan as one `set=1` write (none for an empty plan). Hostname endpoints are resolved
   * first. Throws `WireGuardError` on an errno or an endpoint that does not resolve.
   */
  async apply(plan: CheckedPlan): Promise<{ writes: number }> {
    if (isEmptyPlan(plan)) return { writes: 0 };
    // Resolved and built inside the queue, so requests reach the interface in call order.
    const { errno } = await this.exchange(
      async () => {
        const resolved = await resolveHostnames(plan);
        return buildUapiSet(plan, (endpoint) => resolved.get(endpoint) ?? endpoint);
      },
      "set",
      noBody,
    );
    if (errno !== 0) throw this.refused("set", errno);
    return { writes: 1 };
  }

  /** Sets interface-level settings in one `set=1` write. */
  async setDevice(settings: DeviceSettings): Promise<void> {
    const { errno } = await this.exchange(() => buildUapiDeviceSet(settings), "set device", noBody);
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
   * requests run in call order. `build` runs when the request's turn comes; `decode` reads the body
   * of a successful answer.
   */
  private exchange<T>(
    build: () => string | Promise<string>,
    operation: string,
    decode: Decode<T>,
  ): Promise<Answer<T>> {
    const run = async () => {
      const request = build();
      const text = typeof request === "string" ? request : await request;
      const response = await this.send(text, operation, decode);
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
    // A new connection reads from the buffer's start (a dropped one may have left part of an answer).
    // Between answers a connection's next read goes there too: `received` ends each answer at 0.
    this.#readSize = 0;
    const socket: Socket = createConnection({
      path: this.socketPath,
      onread: { buffer: () => this.readRoom(), callback: (n: number): boolean => this.received(socket, n) },
    });
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
  private send<T>(request: string, operation: string, decode: Decode<T>): Promise<Answer<T>> {
    const open = this.socket && !this.socket.destroyed ? this.socket : null;
    return open
      ? this.sendOn(open, request, operation, decode)
      : this.connect(operation).then((socket) => this.sendOn(socket, request, operation, decode));
  }

  /** Where the socket's next read goes: the free end of the read buffer, grown when little is left. */
  private readRoom(): Buffer {
    const buffer = this.#readBuffer;
    const size = this.#readSize;
    if (buffer.length - size >= MIN_READ_ROOM_BYTES) return buffer.subarray(size);
    const grown = Buffer.allocUnsafe(2 * buffer.length);
    buffer.copy(grown, 0, 0, size);
    this.#readBuffer = grown;
    return grown.subarray(size);
  }

  /** `n` more bytes of an answer were read into the read buffer; settles the request at its end. */
  private received(socket: Socket, n: number): boolean {
    const pending = this.#pending;
    if (pending === null) {
      // Nothing was asked: not the protocol this driver speaks. Dropped, never parsed.
      socket.destroy();
      return false;
    }
    this.#readSize += n;
    const size = this.#readSize;
    const buffer = this.#readBuffer;
    // A response ends with its only blank line: `errno=N\n\n`.
    if (size < 2 || buffer[size - 1] !== LF || buffer[size - 2] !== LF) return true;
    // The next answer starts at the buffer's start (decoding a get may hand it a new buffer).
    this.#readSize = 0;
    let answer: Answer<unknown>;
    try {
      const { bodyEnd, errno } = uapiStatus(buffer, size);
      answer = { errno, value: errno === 0 ? pending.decode(buffer, bodyEnd) : undefined };
    } catch (err) {
      pending.settle(err as Error);
      return true;
    }
    pending.settle(null, answer);
    return true;
  }

  private async sendOn<T>(
    socket: Socket,
    request: string,
    operation: string,
    decode: Decode<T>,
  ): Promise<Answer<T>> {
    socket.ref();
    try {
      return await new Promise<Answer<T>>((resolve, reject) => {
        const settle = (err: Error | null, value?: Answer<unknown>) => {
          clearTimeout(timer);
          socket.off("close", onClose);
          socket.off("error", onError);
          this.#pending = null;
          if (err) reject(err);
          else resolve(value as Answer<T>);
        };
        const fail = (message: string, cause?: unknown) => {
          this.close();
          settle(new WireGuardError(message, { iface: this.name, operation }, { cause }));
        };
        const onClose = () => fail(`userspace API on ${this.name} closed the connection during ${operation}`);
        const onError = (err: Error) => fail(`userspace API ${operation} on ${this.name} failed`, err);
        const timer = setTimeout(
          () => fail(`userspace API ${operation} on ${this.name} timed out after ${this.timeoutMs} ms`),
          this.timeoutMs,
        );
        this.#pending = { decode, settle };
        socket.once("close", onClose);
        socket.once("error", onError);
        socket.write(request);
      });
    } finally {
      socket.unref();
    }
  }
}

/** The body of a set's answer is empty. */
const noBody: Decode<undefined> = () => undefined;

/**
 * The buffer the next answer is read into, after the memo kept one holding `size` bytes: `spare`
 * (the answer the memo let go) unless it is too small to take a like answer without growing, or far
 * too large for it (the interface shrank); else a new one sized for it.
 */
function nextReadBuffer(spare: Buffer | null, size: number): Buffer {
  const wanted = Math.max(READ_BUFFER_BYTES, size + (size >> 2) + MIN_READ_ROOM_BYTES);
  if (spare !== null && spare.length >= size + MIN_READ_ROOM_BYTES && spare.length <= 4 * wanted)
    return spare;
  return Buffer.allocUnsafe(wanted);
}

/** Resolves the hostname endpoints of a plan to `ip:port` (the userspace API takes IPs only). */
async function resolveHostnames(plan: CheckedPlan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const endpoints = [...plan.add.map((p) => p.endpoint), ...plan.update.map((u) => u.endpoint)];
  for (const endpoint of endpoints) {
    if (endpoint == null) continue;
    const parsed = parseEndpoint(endpoint);
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
    // Keyed by the canonical text, which a checked plan holds and buildUapiSet asks for.
    out.set(parsed.text, formatEndpoint(address, parsed.port));
  }
  return out;
}
