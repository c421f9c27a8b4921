/**
 * The silence guard (src/db/postgres-workarounds.ts): a pool connection that has sent something and
 * heard nothing back for its bound is destroyed. Against a stand-in server that ends the handshake
 * (one ReadyForQuery) and then says nothing more, or echoes.
 */
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { silenceGuard } from "../../../src/db/postgres-workarounds.js";

/** ReadyForQuery, idle: the last message of a handshake. */
const READY = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
const BOUND_MS = 200;

describe("silenceGuard", () => {
  let server: Server | undefined;
  const clients: Socket[] = [];
  afterEach(async () => {
    for (const c of clients) c.destroy();
    clients.length = 0;
    server?.close();
    server = undefined;
  });

  /** A server that sends READY on connect, then answers each chunk with `answer(chunk)` (or nothing). */
  const standIn = async (answer?: (chunk: Buffer) => Buffer) => {
    server = createServer((client) => {
      clients.push(client);
      client.write(READY);
      client.on("data", (chunk) => answer && client.write(answer(chunk)));
      client.on("error", () => {});
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const guard = silenceGuard(`postgres://u@127.0.0.1:${port}/db`, BOUND_MS);
    const socket = guard.socket!({ host: ["127.0.0.1"], port: [port] });
    socket.on("error", () => {});
    // The handshake's end arms the guard.
    await once(socket, "data");
    return socket;
  };

  /** Writes every `everyMs` until the socket closes or `forMs` passed; resolves to whether it closed. */
  const keepWriting = (socket: Socket, everyMs: number, forMs: number) =>
    new Promise<boolean>((resolve) => {
      const started = Date.now();
      const timer = setInterval(() => {
        if (socket.destroyed) return;
        if (Date.now() - started > forMs) {
          clearInterval(timer);
          resolve(false);
          return;
        }
        socket.write(Buffer.from("Q"));
      }, everyMs);
      socket.once("close", () => {
        clearInterval(timer);
        resolve(true);
      });
    });

  it("destroys a connection that keeps sending but hears nothing, counting from its first unanswered write", async () => {
    const socket = await standIn();
    // Writes every 40 ms for 25 bounds: an idle timeout, which each write restarts, never fires.
    const started = Date.now();
    expect(await keepWriting(socket, 40, 25 * BOUND_MS)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(BOUND_MS - 5);
  });

  it("keeps a connection whose writes are answered, and one that sends nothing", async () => {
    const answered = await standIn((chunk) => chunk);
    expect(await keepWriting(answered, 40, 5 * BOUND_MS)).toBe(false);
    expect(answered.destroyed).toBe(false);
    // Idle after its last answer: nothing was sent that waits for one.
    await new Promise((r) => setTimeout(r, 3 * BOUND_MS));
    expect(answered.destroyed).toBe(false);
  });
});
