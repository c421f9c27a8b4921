import type { AuditService } from "../../src/audit/index.js";
import type { AuthService, NodeAuthService, Principal } from "../../src/auth/index.js";
import type { HealthService } from "../../src/health/index.js";
import type { Logger } from "../../src/logger.js";
import type { ConfigFeed, MeshServices, StreamSlots } from "../../src/mesh/index.js";
import type { Metrics } from "../../src/metrics/index.js";
import type { EmailService, WebhookService } from "../../src/notify/index.js";
import type { DriftService } from "../../src/peer-sync/index.js";
import type { SettingsService } from "../../src/settings/index.js";
import type { SyncService } from "../../src/sync/index.js";
import type { UsageService } from "../../src/usage/index.js";
import type { ClientInfo } from "./http/client.js";

/** The services handlers reach through `c.var.services`. */
export interface Services {
  auth: AuthService;
  sync: SyncService;
  health: HealthService;
  networks: MeshServices["networks"];
  nodes: MeshServices["nodes"];
  enrollment: MeshServices["enrollment"];
  enrollmentKeys: MeshServices["enrollmentKeys"];
  configs: MeshServices["configs"];
  nodeAuth: NodeAuthService;
  liveness: MeshServices["liveness"];
  audit: AuditService;
  usage: UsageService;
  settings: SettingsService;
  drift: DriftService;
  webhooks: WebhookService;
  emails: EmailService;
}

export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
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
    /** Set by `authenticate` when the request proved who it is. */
    principal: Principal | undefined;
  };
}
