import { describe, expect, it } from "vitest";
import { encodeRequest, frameAnswer } from "./http-client.js";

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
});
