/** A pino destination that keeps every line, so tests can assert what was (not) logged. */
import { Writable } from "node:stream";
import type { Logger } from "../../src/logger.js";
import { createLogger } from "../../src/logger.js";

export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _enc: string, done: () => void) {
    for (const line of chunk.toString("utf8").split("\n")) if (line) this.lines.push(line);
    done();
  }

  get text(): string {
    return this.lines.join("\n");
  }

  parsed(): Record<string, unknown>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
}

export function captureLogger(level = "debug"): { logger: Logger; logs: LogCapture } {
  const logs = new LogCapture();
  return { logger: createLogger({ level, pretty: false, destination: logs }), logs };
}
