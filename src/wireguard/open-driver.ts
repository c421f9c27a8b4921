import { existsSync } from "node:fs";
import type { WgDriver } from "./types.js";
import { UapiDriver, uapiSocketPath } from "./uapi-driver.js";
import { WgCliDriver } from "./wg-cli-driver.js";

export interface OpenDriverOptions {
  /** `auto`: the userspace API when the interface has a socket, else the `wg` tool. */
  driver: "auto" | "uapi" | "wg";
  /** Namespace of a kernel interface (used by the `wg` driver; the UAPI socket is host-wide). */
  netns?: string | undefined;
  socketDir?: string;
  timeoutMs?: number;
}

/**
 * Opens a driver for interface `iface`. Opening touches nothing (the UAPI driver connects on first
 * use); errors surface on `dump`/`apply`. Close the driver when done.
 */
export function openDriver(iface: string, options: OpenDriverOptions): WgDriver {
  const kind =
    options.driver === "auto"
      ? existsSync(uapiSocketPath(iface, options.socketDir))
        ? "uapi"
        : "wg"
      : options.driver;
  if (kind === "uapi") {
    return new UapiDriver(iface, {
      ...(options.socketDir === undefined ? {} : { socketDir: options.socketDir }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
  }
  return new WgCliDriver(iface, {
    netns: options.netns,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}
