import { createServer, type Socket } from "node:net";
import { describe, expect, it } from "vitest";
import { encodeRequest, frameAnswer, RawHttpClient } from "./http-client.js";

const bytes = (s: string) => Buffer.from(s, "latin1");

describe("bench HTTP client framing", () => {
  it("frames an answer by its content-length and leaves the next one's bytes", () => {
    const first = 'HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{"status":"ok"}';
    const answer = frameAnswer(bytes(`${first}HTTP/1.1 2`));
    expect(answer).toEqual({ status: 200, body: '{"status":"ok"}', length: first.length });
  });

  it("waits for the rest of a body that has not arrived", () => {
    expect(frameAnswer(bytes("HTTP/1.1 201 Created\r\ncontent-length: 10\r\n\r\n12345"))).toBeNull();
    expect(frameAnswer(bytes("HTTP/1.1 201 Created\r\ncontent-len"))).toBeNull();
  });

  it("joins a chunked body and counts its closing chunk", () => {
    const text =
      "HTTP/1.1 401 Unauthorized\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    expect(frameAnswer(bytes(text))).toEqual({ status: 401, body: "hello world", length: text.length });
    expect(frameAnswer(bytes(text.slice(0, -2)))).toBeNull();
  });

  it("refuses an answer it cannot frame rather than guessing", () => {
    expect(() => frameAnswer(bytes("HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nbody"))).toThrow(
      /cannot frame/,
    );
  });

  it("writes a JSON body with its byte length and the given headers", () => {
    const request = encodeRequest({
      method: "POST",
      path: "/x",
      headers: { "x-api-key": "k" },
      body: { n: "é" },
    });
    expect(request.toString()).toBe(
      'POST /x HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: k\r\ncontent-type: application/json\r\ncontent-length: 10\r\n\r\n{"n":"é"}',
    );
  });

  it("sends a request again on a new connection when the server resets the old one before answering", async () => {
    // The server resets each connection's second request unanswered (as one closing an idle
    // keep-alive connection while the request is on its way) and answers every other request.
    const answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    const connections: Socket[] = [];
    const server = createServer((socket) => {
      connections.push(socket);
      let requests = 0;
      socket.on("data", () => {
        requests++;
        if (requests === 2) socket.resetAndDestroy();
        else socket.write(answer);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = new RawHttpClient((server.address() as { port: number }).port);
    try {
      const get = encodeRequest({ method: "GET", path: "/" });
      expect(await client.send(get)).toEqual({ status: 200, body: "ok" });
      expect(await client.send(get)).toEqual({ status: 200, body: "ok" });
      expect(connections).toHaveLength(2);
    } finally {
      client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
