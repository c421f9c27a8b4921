/** Starts the HTTP server for an app and stops it cleanly (open connections get `closeTimeoutMs`). */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import type { App } from "./app.js";
import { closeWebSockets, createUpgradeServer } from "./upgrade.js";

export interface RunningServer {
  port: number;
  close(closeTimeoutMs?: number): Promise<void>;
}

export function listen(app: App, port: number, hostname: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const wss = createUpgradeServer();
    const server = serve(
      { fetch: app.fetch, port, hostname, websocket: { server: wss } },
      (info: AddressInfo) => {
        resolve({
          port: info.port,
          close: (closeTimeoutMs = 5_000) =>
            new Promise<void>((done) => {
              closeWebSockets(wss, Math.min(closeTimeoutMs, 1_000));
              const timer = setTimeout(() => {
                if ("closeAllConnections" in server) server.closeAllConnections();
              }, closeTimeoutMs);
              server.close(() => {
                clearTimeout(timer);
                done();
              });
              if ("closeIdleConnections" in server) server.closeIdleConnections();
            }),
        });
      },
    );
    server.once("error", reject);
  });
}

/** The base URL people should open: `PUBLIC_URL`, or localhost for a wildcard bind. */
export function baseUrl(publicUrl: string | undefined, host: string, port: number): string {
  if (publicUrl) return publicUrl.replace(/\/$/, "");
  const shown = host === "0.0.0.0" || host === "::" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  return `http://${shown}:${port}`;
}
