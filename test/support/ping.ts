/** A ping that runs through a change (a re-key, a hub key rotation), and the packets it lost. */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";

/** Seconds between the pings that run through the rotation. */
const PING_INTERVAL = "0.2";

export interface PingRun {
  child: ChildProcess;
  output: () => string;
}

/** A ping from `netns` every PING_INTERVAL seconds that runs until stopped (`-O`: every answered seq is printed). */
export function startPing(netns: string, address: string): PingRun {
  const child = spawn("ip", ["netns", "exec", netns, "ping", "-n", "-O", "-i", PING_INTERVAL, address], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString("utf8");
  });
  return { child, output: () => out };
}

/** Longest a reply may take and still count: a reply held back while the tunnel had no session is a gap too. */
const LATE_MS = 1_000;

/**
 * Answered sequence numbers, and the ones sent before the last answer that went unanswered or were
 * answered later than LATE_MS (WireGuard holds packets back while it shakes hands, so a gap shows as
 * late replies as much as lost ones).
 */
export function pingLosses(output: string): { answered: number; lost: number[] } {
  const replies = [...output.matchAll(/bytes from .* icmp_seq=(\d+) .*time=([\d.]+) ms/g)].map((m) => ({
    seq: Number(m[1]),
    ms: Number(m[2]),
  }));
  const onTime = new Set(replies.filter((r) => r.ms <= LATE_MS).map((r) => r.seq));
  const seqs = replies.map((r) => r.seq);
  const lost: number[] = [];
  for (let s = Math.min(...seqs); s <= Math.max(...seqs); s++) if (!onTime.has(s)) lost.push(s);
  return { answered: replies.length, lost };
}
