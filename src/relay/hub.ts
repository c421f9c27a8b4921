/**
 * The relay's sessions in one API process: one WebSocket per node (a newer one replaces the older),
 * forwarding each binary frame to the connected node of the sender's own network whose public key it
 * names, stamped with the sender's key. It never reads a payload (WireGuard encrypts end to end), never
 * forwards across networks or in a hub network, and drops what a receiver cannot take in time.
 */
import type { WebSocket } from "ws";
import type { Logger } from "../logger.js";
import type { RelayDropReason, RelayMetrics } from "../metrics/index.js";
import type { RelayControl } from "./frames.js";
import { decodeFrame, encodeFrame, parseControl } from "./frames.js";
import type { RelayDirectory, RelayIdentity } from "./relay.repo.js";

const SECOND_MS = 1_000;
/** A receiver with more than this queued gets no more until it drains (per-connection backpressure). */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
/** Every session is pinged (and its node checked again) this often; one silent for a whole period is cut. */
export const DEFAULT_KEEPALIVE_MS = 30 * SECOND_MS;

/** Close codes a node may see (4000–4999 are the application's). */
export const CLOSE_REPLACED = 4000;
export const CLOSE_REVOKED = 4001;

export interface RelayHubOptions {
  directory: RelayDirectory;
  metrics: RelayMetrics;
  logger: Logger;
  maxBufferedBytes?: number;
  keepaliveMs?: number;
}

interface Session {
  identity: RelayIdentity;
  /** The node's raw key, stamped on what it sends. */
  rawKey: Buffer;
  socket: WebSocket;
  isAlive: boolean;
}

export type RelayHub = ReturnType<typeof createRelayHub>;

const sessionKey = (networkId: string, publicKey: string) => `${networkId} ${publicKey}`;

export function createRelayHub(options: RelayHubOptions) {
  const { directory, metrics } = options;
  const log = options.logger.child({ component: "relay" });
  const maxBuffered = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
  const sessions = new Map<string, Session>();

  const send = (socket: WebSocket, control: RelayControl) => socket.send(JSON.stringify(control));

  async function sendPeers(session: Session): Promise<void> {
    send(session.socket, { type: "peers", ...(await directory.peers(session.identity)) });
  }

  /** Forwards one frame of `from`; the reason when it was dropped instead. */
  function forward(from: Session, frame: Buffer): RelayDropReason | undefined {
    const decoded = decodeFrame(frame);
    if (!decoded) return "malformed";
    metrics.bytes.inc({ direction: "in" }, decoded.payload.length);
    const to =
      from.identity.topology === "mesh"
        ? sessions.get(sessionKey(from.identity.networkId, decoded.key))
        : undefined;
    // Another network's key, a node not connected here, or the sender itself: all look the same.
    if (!to || to === from) return "no-peer";
    if (to.socket.bufferedAmount > maxBuffered) return "backpressure";
    to.socket.send(encodeFrame(from.rawKey, decoded.payload));
    metrics.bytes.inc({ direction: "out" }, decoded.payload.length);
    return undefined;
  }

  async function checkAlive(): Promise<void> {
    for (const session of [...sessions.values()]) {
      if (!session.isAlive) {
        session.socket.terminate();
        continue;
      }
      session.isAlive = false;
      session.socket.ping();
      const now = await directory.identify(session.identity.nodeId).catch(() => session.identity);
      if (!now || now.disabled || now.publicKey !== session.identity.publicKey)
        session.socket.close(CLOSE_REVOKED, "the node was removed, disabled or changed its key");
    }
  }
  const keepalive = setInterval(
    () => void checkAlive().catch((err) => log.warn({ err }, "relay keepalive failed")),
    options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
  );
  keepalive.unref();

  return {
    /** The relay identity of a node: undefined when it is gone; `disabled` says whether it may connect. */
    identify(nodeId: string): Promise<RelayIdentity | undefined> {
      return directory.identify(nodeId);
    },

    /**
     * Takes over `socket` for `identity`: closes the node's older socket (code 4000), sends the node
     * the keys it may relay to (with their NAT types and its own), and forwards its frames until the socket closes.
     */
    attach(identity: RelayIdentity, socket: WebSocket): void {
      const key = sessionKey(identity.networkId, identity.publicKey);
      const session: Session = {
        identity,
        rawKey: Buffer.from(identity.publicKey, "base64"),
        socket,
        isAlive: true,
      };
      sessions.get(key)?.socket.close(CLOSE_REPLACED, "replaced by a newer connection of the node");
      sessions.set(key, session);
      metrics.sessions.set(sessions.size);
      log.info({ nodeId: identity.nodeId, sessions: sessions.size }, "relay session opened");

      socket.on("pong", () => {
        session.isAlive = true;
      });
      socket.on("message", (data, isBinary) => {
        session.isAlive = true;
        if (isBinary) {
          const dropped = forward(session, data as Buffer);
          if (dropped) metrics.dropped.inc({ reason: dropped });
          return;
        }
        if (parseControl(String(data))?.type === "peers?")
          void sendPeers(session).catch((err) => log.warn({ err }, "listing relay peers failed"));
      });
      socket.on("error", (err) => log.info({ err, nodeId: identity.nodeId }, "relay socket error"));
      socket.on("close", (code) => {
        if (sessions.get(key) === session) sessions.delete(key);
        metrics.sessions.set(sessions.size);
        log.info({ nodeId: identity.nodeId, code }, "relay session closed");
      });
      void sendPeers(session).catch((err) => {
        log.warn({ err }, "listing relay peers failed");
        socket.close(1011, "the relay could not list the node's peers");
      });
    },

    /** Connected nodes. */
    get size(): number {
      return sessions.size;
    },

    /** Closes every session (server shutdown) and stops the keepalive. */
    close(): void {
      clearInterval(keepalive);
      for (const session of sessions.values()) session.socket.close(1001, "the relay is shutting down");
    },
  };
}
