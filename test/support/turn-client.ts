/**
 * A minimal STUN/TURN client over UDP, enough to ask a real TURN server (coturn) whether it accepts a
 * credential: a STUN Binding request (RFC 8489), and a TURN Allocate (RFC 8656) with the long-term
 * credential mechanism: a first Allocate gets 401 with REALM and NONCE, the second carries USERNAME,
 * REALM, NONCE and MESSAGE-INTEGRITY (HMAC-SHA1 keyed with MD5(username:realm:password)).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import dgram from "node:dgram";

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const ALLOCATE_REQUEST = 0x0003;
const ALLOCATE_SUCCESS = 0x0103;
const ALLOCATE_ERROR = 0x0113;

const ATTR = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  errorCode: 0x0009,
  realm: 0x0014,
  nonce: 0x0015,
  requestedTransport: 0x0019,
} as const;

const UDP_PROTOCOL = 17;

interface StunMessage {
  type: number;
  transactionId: Buffer;
  attributes: Map<number, Buffer>;
}

function attribute(type: number, value: Buffer): Buffer {
  const padded = Buffer.alloc(4 + Math.ceil(value.length / 4) * 4);
  padded.writeUInt16BE(type, 0);
  padded.writeUInt16BE(value.length, 2);
  value.copy(padded, 4);
  return padded;
}

function header(type: number, length: number, transactionId: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(length, 2);
  h.writeUInt32BE(MAGIC_COOKIE, 4);
  transactionId.copy(h, 8);
  return h;
}

/**
 * Encodes a request; with `integrityKey`, appends MESSAGE-INTEGRITY over the message as it stands,
 * its length field already counting the integrity attribute (RFC 8489 §14.5).
 */
function encode(
  type: number,
  attributes: Buffer[],
  integrityKey?: Buffer,
): { bytes: Buffer; transactionId: Buffer } {
  const transactionId = randomBytes(12);
  const body = Buffer.concat(attributes);
  if (!integrityKey)
    return { bytes: Buffer.concat([header(type, body.length, transactionId), body]), transactionId };
  const signed = Buffer.concat([header(type, body.length + 24, transactionId), body]);
  const mac = createHmac("sha1", integrityKey).update(signed).digest();
  return { bytes: Buffer.concat([signed, attribute(ATTR.messageIntegrity, mac)]), transactionId };
}

function decode(bytes: Buffer): StunMessage | undefined {
  if (bytes.length < 20 || bytes.readUInt32BE(4) !== MAGIC_COOKIE) return undefined;
  const attributes = new Map<number, Buffer>();
  const end = Math.min(bytes.length, 20 + bytes.readUInt16BE(2));
  for (let at = 20; at + 4 <= end; ) {
    const type = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    attributes.set(type, bytes.subarray(at + 4, at + 4 + length));
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return { type: bytes.readUInt16BE(0), transactionId: bytes.subarray(8, 20), attributes };
}

/** Sends `bytes` from `socket` and waits for the answer to its transaction; undefined after `timeoutMs`. */
function exchange(
  socket: dgram.Socket,
  host: string,
  port: number,
  request: { bytes: Buffer; transactionId: Buffer },
  timeoutMs: number,
): Promise<StunMessage | undefined> {
  return new Promise((resolve) => {
    const onMessage = (data: Buffer) => {
      const message = decode(data);
      if (message?.transactionId.equals(request.transactionId)) finish(message);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    function finish(message: StunMessage | undefined) {
      clearTimeout(timer);
      socket.off("message", onMessage);
      resolve(message);
    }
    socket.on("message", onMessage);
    socket.send(request.bytes, port, host);
  });
}

async function withSocket<T>(use: (socket: dgram.Socket) => Promise<T>): Promise<T> {
  const socket = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  try {
    return await use(socket);
  } finally {
    socket.close();
  }
}

/** True when a STUN server answers a Binding request at `host:port` within `timeoutMs`. */
export function stunBinding(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return withSocket(async (socket) => {
    const answer = await exchange(socket, host, port, encode(BINDING_REQUEST, []), timeoutMs);
    return answer?.type === BINDING_SUCCESS;
  });
}

export type AllocateResult =
  | { ok: true; realm: string }
  | { ok: false; errorCode: number; reason: string; realm: string };

function errorOf(message: StunMessage): { errorCode: number; reason: string } {
  const value = message.attributes.get(ATTR.errorCode);
  if (!value || value.length < 4) return { errorCode: 0, reason: "no ERROR-CODE" };
  return { errorCode: (value[2]! & 0x7) * 100 + value[3]!, reason: value.subarray(4).toString("utf8") };
}

/**
 * Asks the TURN server at `host:port` for a UDP relay allocation with `username`/`password`, from a
 * fresh socket (so no earlier allocation or nonce counts). `ok` when it answers Allocate success
 * (0x0103); otherwise its error code (401: credential refused).
 */
export function turnAllocate(options: {
  host: string;
  port: number;
  username: string;
  password: string;
  timeoutMs?: number;
}): Promise<AllocateResult> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const transport = attribute(ATTR.requestedTransport, Buffer.from([UDP_PROTOCOL, 0, 0, 0]));
  return withSocket(async (socket) => {
    const send = async (request: { bytes: Buffer; transactionId: Buffer }) => {
      const answer = await exchange(socket, options.host, options.port, request, timeoutMs);
      if (!answer)
        throw new Error(`no answer from TURN server ${options.host}:${options.port} in ${timeoutMs} ms`);
      return answer;
    };
    const challenge = await send(encode(ALLOCATE_REQUEST, [transport]));
    if (challenge.type !== ALLOCATE_ERROR || errorOf(challenge).errorCode !== 401)
      throw new Error(`expected a 401 challenge, got type 0x${challenge.type.toString(16)}`);
    const realm = challenge.attributes.get(ATTR.realm)?.toString("utf8") ?? "";
    const nonce = challenge.attributes.get(ATTR.nonce) ?? Buffer.alloc(0);
    const key = createHash("md5").update(`${options.username}:${realm}:${options.password}`).digest();
    const answer = await send(
      encode(
        ALLOCATE_REQUEST,
        [
          transport,
          attribute(ATTR.username, Buffer.from(options.username, "utf8")),
          attribute(ATTR.realm, Buffer.from(realm, "utf8")),
          attribute(ATTR.nonce, nonce),
        ],
        key,
      ),
    );
    if (answer.type === ALLOCATE_SUCCESS) return { ok: true, realm };
    if (answer.type === ALLOCATE_ERROR) return { ok: false, ...errorOf(answer), realm };
    throw new Error(`unexpected answer type 0x${answer.type.toString(16)} to an Allocate`);
  });
}
