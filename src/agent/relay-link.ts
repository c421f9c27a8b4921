/**
 * The agent's end of the WebSocket relay: one WebSocket to `/api/v1/relay` (node token, reconnecting
 * with backoff), and one UDP socket on 127.0.0.1 per relayed peer, which the interface sends to as that
 * peer's endpoint. A datagram from the interface on a peer's socket goes to the relay behind the peer's
 * key; a frame from the relay goes to the interface's listen port from the sending peer's socket (made
 * on first use), so WireGuard sees each relayed peer at its own local address. Datagrams are dropped,
 * never queued without bound: WireGuard retransmits what matters. A node the relay has no peer for
 * (a hub network, a mesh of one) closes the WebSocket until its config changes.
 */
import type { Socket } from "node:dgram";
import dgram from "node:dgram";
import { WebSocket } from "ws";
import type { Logger } from "../logger.js";
import type { NatType } from "../nat/index.js";
import { decodeFrame, encodeFrame, MAX_FRAME_BYTES, parseControl } from "../relay/index.js";

const SECOND_MS = 1_000;
const MAX_BACKOFF_MS = 30 * SECOND_MS;
/** More than this waiting to go out on the WebSocket, and datagrams are dropped. */
const MAX_BUFFERED_BYTES = 1024 * 1024;
const LOOPBACK = "127.0.0.1";
/**
 * Frames from a peer whose socket was just closed (it went direct) are dropped this long: they were
 * sent before the peer's WireGuard followed the direct path, and delivering them would move ours
 * back onto the relay.
 */
const CLOSED_GRACE_MS = 3 * SECOND_MS;

export interface RelayLinkOptions {
  /** The API's base URL (`http(s)://…`); the relay is at `/api/v1/relay` on it, as ws(s). */
  url: string;
  token: string;
  logger: Logger;
}

interface PeerSocket {
  socket: Socket;
  address: string;
}

export type RelayLink = ReturnType<typeof createRelayLink>;

/** The relay URL of an API base URL. */
export function relayUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, "ws").replace(/\/$/, "")}/api/v1/relay`;
}

export function createRelayLink(options: RelayLinkOptions) {
  const log = options.logger.child({ component: "relay-link" });
  const peers = new Map<string, PeerSocket>();
  const opening = new Map<string, Promise<PeerSocket>>();
  const held = new Set<string>();
  const closedAt = new Map<string, number>();
  let eligible = new Set<string>();
  let natTypes: Record<string, NatType> = {};
  let ownNatType: NatType = "unknown";
  let listenPort = 0;
  let ws: WebSocket | undefined;
  let stopped = false;
  /** Closed because the relay had no peer for this node; `refresh()` connects again. */
  let isIdle = false;
  let backoffMs = SECOND_MS;
  let reconnectTimer: NodeJS.Timeout | undefined;
  const counters = { sent: 0, received: 0, dropped: 0 };

  function openPeer(publicKey: string): Promise<PeerSocket> {
    const known = peers.get(publicKey);
    if (known) return Promise.resolve(known);
    const pending = opening.get(publicKey);
    if (pending) return pending;
    const made = new Promise<PeerSocket>((resolve, reject) => {
      const socket = dgram.createSocket("udp4");
      socket.once("error", reject);
      socket.on("message", (datagram, from) => {
        // Only the interface sends here; anything else on loopback is not WireGuard's.
        if (from.port !== listenPort || !ws || ws.readyState !== WebSocket.OPEN) return;
        if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
          counters.dropped++;
          return;
        }
        ws.send(encodeFrame(publicKey, datagram));
        counters.sent += datagram.length;
      });
      socket.bind(0, LOOPBACK, () => {
        socket.off("error", reject);
        socket.on("error", (err) => log.warn({ err }, "relay peer socket failed"));
        const entry = { socket, address: `${LOOPBACK}:${socket.address().port}` };
        peers.set(publicKey, entry);
        resolve(entry);
      });
    }).finally(() => opening.delete(publicKey));
    opening.set(publicKey, made);
    return made;
  }

  function deliver(frame: Buffer): void {
    const decoded = decodeFrame(frame);
    if (!decoded || listenPort < 1 || held.has(decoded.key)) {
      counters.dropped++;
      return;
    }
    const { key, payload } = decoded;
    const closed = closedAt.get(key);
    if (closed !== undefined && Date.now() - closed < CLOSED_GRACE_MS && !peers.has(key)) {
      counters.dropped++;
      return;
    }
    void openPeer(key)
      .then(({ socket }) => {
        socket.send(payload, listenPort, LOOPBACK);
        counters.received += payload.length;
      })
      .catch((err) => log.warn({ err }, "opening a relay peer socket failed"));
  }

  function connect(): void {
    if (stopped) return;
    const socket = new WebSocket(relayUrl(options.url), {
      headers: { Authorization: `Bearer ${options.token}` },
      maxPayload: MAX_FRAME_BYTES,
      perMessageDeflate: false,
    });
    ws = socket;
    socket.on("open", () => {
      backoffMs = SECOND_MS;
      log.info("relay connected");
    });
    socket.on("message", (data, isBinary) => {
      if (isBinary) return deliver(data as Buffer);
      const control = parseControl(String(data));
      if (control?.type !== "peers") return;
      eligible = new Set(control.publicKeys);
      natTypes = control.natTypes ?? {};
      ownNatType = control.ownNatType ?? "unknown";
      // A hub network, or a mesh of one: nothing to relay until the config changes.
      if (eligible.size === 0 && peers.size === 0) {
        isIdle = true;
        socket.close(1000, "no peers to relay");
      }
    });
    socket.on("unexpected-response", (_req, res) => {
      log.warn({ status: res.statusCode }, "the relay refused the connection");
      socket.terminate();
    });
    socket.on("error", (err) => log.debug({ err }, "relay connection error"));
    socket.on("close", (code) => {
      if (ws === socket) ws = undefined;
      eligible = new Set();
      if (stopped || isIdle) return;
      log.info({ code, retryInMs: backoffMs }, "relay disconnected");
      reconnectTimer = setTimeout(connect, backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    });
  }

  return {
    start(): void {
      connect();
    },

    /** The keys the relay says this node may reach through it (empty while disconnected). */
    get eligible(): ReadonlySet<string> {
      return eligible;
    },

    /** This node's NAT type and the peer's, as the relay last told them (`unknown` when it did not). */
    natTypesWith(publicKey: string): { own: NatType; peer: NatType } {
      return { own: ownNatType, peer: Object.hasOwn(natTypes, publicKey) ? natTypes[publicKey]! : "unknown" };
    },

    get isConnected(): boolean {
      return ws?.readyState === WebSocket.OPEN;
    },

    /** Payload bytes sent to and received from the relay, and datagrams dropped. */
    get counters(): Readonly<typeof counters> {
      return counters;
    },

    /** The interface's listen port, where relayed datagrams are delivered. */
    setListenPort(port: number): void {
      listenPort = port;
    },

    /** The local address (`127.0.0.1:port`) of the peer's relay socket, made if needed. */
    async open(publicKey: string): Promise<string> {
      return (await openPeer(publicKey)).address;
    },

    /** The local address of the peer's relay socket, when it has one. */
    addressOf(publicKey: string): string | undefined {
      return peers.get(publicKey)?.address;
    },

    /** Holds back (drops) what the relay brings from the peer, or delivers it again. */
    hold(publicKey: string, isHeld: boolean): void {
      if (isHeld) held.add(publicKey);
      else held.delete(publicKey);
    },

    /** Closes the peer's relay socket (a later frame from it opens a new one). */
    close(publicKey: string): void {
      if (peers.has(publicKey)) closedAt.set(publicKey, Date.now());
      peers.get(publicKey)?.socket.close();
      peers.delete(publicKey);
      held.delete(publicKey);
    },

    /** Asks the relay for the keys again (after a new config: nodes may have joined). */
    refresh(): void {
      if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "peers?" }));
      else if (isIdle && !stopped) {
        isIdle = false;
        connect();
      }
    },

    stop(): void {
      stopped = true;
      clearTimeout(reconnectTimer);
      ws?.close(1000, "agent stopping");
      for (const key of [...peers.keys()]) this.close(key);
    },
  };
}
