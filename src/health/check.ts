/** A readiness check: resolves when its dependency answers, throws when it does not. */
export type HealthCheck = () => Promise<void>;

/** A failed check whose message is safe to show anyone (it names no address, secret or driver text). */
export class HealthCheckError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HealthCheckError";
  }
}
