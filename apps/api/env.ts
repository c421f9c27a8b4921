import type { NodeClaim, Principal } from "../../src/auth/index.js";
import type { Logger } from "../../src/logger.js";
import type { ConfigFeed, StreamSlots } from "../../src/mesh/index.js";
import type { Metrics } from "../../src/metrics/index.js";
import type { Platform } from "../../src/platform.js";
import type { ClientInfo } from "./http/client.js";

/**
 * The services handlers reach through `c.var.services`: the platform's, less the worker-side ones
 * (peer sync and the outbox relay run in workers, never in a handler).
 */
export type Services = Omit<Platform["services"], "peerSync" | "relay">;

export interface AppEnv {
  Variables: {
    requestId: string;
    /** The request's child logger, once made: read it through `requestLogger(c)`. */
    logger: Logger | undefined;
    /** The app's logger (`requestLogger` makes the request's child of it). */
    rootLogger: Logger;
    services: Services;
    metrics: Metrics;
    /** Config announcements for agent streams held by this process. */
    configFeed: () => ConfigFeed;
    /** The caller's address and scheme, per `TRUST_PROXY` (set first thing). */
    client: ClientInfo;
    /** Config streams open per node, across API processes (a node may hold only a few). */
    streamSlots: StreamSlots;
    /** SHA-256 of `METRICS_TOKEN` when one is set: `/metrics` then answers only to it. */
    metricsTokenHash: string | undefined;
    /** `PUBLIC_URL` without a trailing slash, when set: links the API hands out start with it. */
    publicUrl: string | undefined;
    /** Set by `authenticate` when the request proved who it is. */
    principal: Principal | undefined;
    /**
     * A node token `authenticate` left for the route to check in its own statement (see
     * `checksNodeTokenItself`); `principal` is set once that statement matched.
     */
    nodeClaim: NodeClaim | undefined;
  };
}
