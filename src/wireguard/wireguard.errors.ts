import type { DomainErrorOptions } from "../errors.js";
import { DomainError } from "../errors.js";

/**
 * The data plane failed or refused an operation: the UAPI socket is missing or answered an errno, or
 * the `wg`/`ip`/`wireguard-go` tool exited non-zero. Code WIREGUARD_UNAVAILABLE (503; retry with backoff);
 * callers that must tell a refusal from an outage read `errno` (a negative errno from the userspace
 * API, e.g. -22 for EINVAL) or `exitCode`. Messages and context never hold a key.
 */
export class WireGuardError extends DomainError {
  readonly iface: string;
  readonly operation: string;
  readonly errno: number | undefined;
  readonly exitCode: number | undefined;

  constructor(
    message: string,
    details: { iface: string; operation: string; errno?: number; exitCode?: number },
    options: Pick<DomainErrorOptions, "cause"> = {},
  ) {
    super("WIREGUARD_UNAVAILABLE", message, {
      ...options,
      context: {
        iface: details.iface,
        operation: details.operation,
        ...(details.errno === undefined ? {} : { errno: details.errno }),
        ...(details.exitCode === undefined ? {} : { exitCode: details.exitCode }),
      },
    });
    this.name = "WireGuardError";
    this.iface = details.iface;
    this.operation = details.operation;
    this.errno = details.errno;
    this.exitCode = details.exitCode;
  }
}
