/**
 * Throttling of password sign-ins: each password check costs ~40 ms of scrypt and 32 MiB, so
 * anonymous callers must not be able to buy unlimited guesses or unlimited CPU.
 *
 * - Failed attempts are counted per account and per source address in Redis (shared by every API
 *   process) in fixed windows; over either limit the next attempt is refused with TOO_MANY_ATTEMPTS
 *   (and a `retryAfterSeconds`) before any hashing. A successful sign-in clears its account's count.
 * - In each process, a source may have only a few checks in flight, and hashing runs a few at a time
 *   behind a bounded queue, so a crowd of callers delays a real sign-in by a bounded amount.
 */
import { isIP } from "node:net";
import { sha256Hex } from "../crypto/index.js";
import { DomainError } from "../errors.js";
import type { Redis } from "../queue/index.js";

const SECOND_MS = 1_000;
const MINUTE_MS = 60 * SECOND_MS;

export interface SignInLimits {
  /** Failed sign-ins one account may take per window; the next attempt is refused. */
  accountFailures: number;
  /** Failed sign-ins (and anonymous registrations) one source address may make per window. */
  sourceFailures: number;
  windowMs: number;
  /** Password hashes this process runs at once; more wait in line. */
  hashConcurrency: number;
  /** Password checks one source may have in flight in this process. */
  sourceConcurrency: number;
  /** Checks that may wait for a hashing slot before more are refused. */
  maxQueued: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  accountFailures: 5,
  sourceFailures: 20,
  windowMs: 15 * MINUTE_MS,
  hashConcurrency: 2,
  sourceConcurrency: 2,
  maxQueued: 32,
};

/** Who is trying: the account (an email; absent for a registration) and the client's address. */
export interface SignInAttempt {
  account?: string | undefined;
  /** The client's address; undefined when unknown (all such callers share one budget). */
  source: string | undefined;
  /**
   * How the attempt counts: `on-failure` (a sign-in: a failure counts against account and source,
   * a success clears the account's count), `always` (an anonymous registration: every try costs
   * the source), `no` (a caller who proved itself otherwise, e.g. an admin: hashing limits only).
   */
  counted: "on-failure" | "always" | "no";
}

export interface SignInGuard {
  /**
   * Runs `check` (which hashes a password) under the limits and returns its result; `isFailure`
   * says whether that result is a failed sign-in. A `check` that throws counts nothing. Throws
   * TOO_MANY_ATTEMPTS without running `check` when the account or source is over its limit, or the
   * source or this process is too busy hashing; DEPENDENCY_UNAVAILABLE when Redis does not answer.
   */
  attempt<T>(who: SignInAttempt, check: () => Promise<T>, isFailure?: (result: T) => boolean): Promise<T>;
}

/**
 * The budget key of an address: an IPv6 client is counted by its /64 (one host usually holds a
 * whole /64), an IPv4 client by its address. Pure.
 */
export function sourceBucket(address: string | undefined): string {
  if (address === undefined) return "unknown";
  if (isIP(address) !== 6) return address;
  const [head = "", tail] = address.toLowerCase().split("::") as [string, string | undefined];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/**
 * Checks every counter against its limit; only when none is at it, counts one more on each
 * (starting a window on a counter's first count). Returns {0, count of the first counter after it}
 * when counted, else {1-based index of the full counter, its time left in ms}.
 */
const CONSUME = `
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    return {i, ttl}
  end
end
local first = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
  if i == 1 then first = n end
end
return {0, first}`;

/** A success: takes back its count of the source (KEYS[1]) and clears the account's (KEYS[2]). */
const REFUND = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then redis.call('DECR', KEYS[1]) end
if KEYS[2] then redis.call('DEL', KEYS[2]) end
return 0`;

/** Takes back the attempt's own count (it ended in an error that says nothing about the password). */
const UNCOUNT = `
for _, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n > 0 then redis.call('DECR', key) end
end
return 0`;

export interface SignInGuardDeps {
  redis: Redis;
  /** The installation's Redis prefix: every API process sharing it shares the counts. */
  prefix: string;
  limits?: Partial<SignInLimits>;
}

export function createSignInGuard(deps: SignInGuardDeps): SignInGuard {
  const limits = { ...DEFAULT_SIGN_IN_LIMITS, ...deps.limits };
  const gate = createHashGate(limits);
  // One hash tag: the keys of one attempt share a Redis Cluster slot, so one script may touch them.
  const key = (kind: "account" | "source", id: string) => `${deps.prefix}:{sign-in}:${kind}:${id}`;

  return {
    async attempt<T>(who: SignInAttempt, check: () => Promise<T>, isFailure = (_: T) => false): Promise<T> {
      const bucket = sourceBucket(who.source);
      // Callers of unknown address (in-process requests) are not one source to make wait for another.
      const ticket = gate.enter(who.source === undefined ? undefined : bucket);
      try {
        if (who.counted === "no") {
          await ticket.slot("first");
          return await check();
        }
        const sourceKey = key("source", sha256Hex(bucket));
        const accountKey = who.account ? key("account", sha256Hex(who.account.toLowerCase())) : undefined;
        const keys = accountKey ? [sourceKey, accountKey] : [sourceKey];
        const limitsOf = accountKey
          ? [limits.sourceFailures, limits.accountFailures]
          : [limits.sourceFailures];
        const [full, countOrTtlMs] = (await deps.redis
          .eval(CONSUME, keys.length, ...keys, limits.windowMs, ...limitsOf)
          .catch((err: unknown) => {
            // Fail closed: without the counts, guesses would be unlimited.
            throw new DomainError(
              "DEPENDENCY_UNAVAILABLE",
              "sign-in limits cannot be checked right now (Redis); retry shortly",
              { cause: err, context: { retryAfterSeconds: 5 } },
            );
          })) as [number, number];
        if (full !== 0) {
          const limit = keys[full - 1] === accountKey ? "account" : "source";
          const seconds = Math.max(1, Math.ceil(countOrTtlMs / SECOND_MS));
          throw new DomainError(
            "TOO_MANY_ATTEMPTS",
            `too many failed sign-ins ${limit === "account" ? "for this account" : "from your address"}; retry in ${seconds} s`,
            { context: { retryAfterSeconds: seconds, limit } },
          );
        }
        let result: T;
        try {
          // A source with no failures this window (its count is this attempt alone) goes ahead of
          // sources that keep failing: a crowd of guessers delays a real sign-in by little.
          await ticket.slot(countOrTtlMs <= 1 ? "first" : "after");
          result = await check();
        } catch (err) {
          await deps.redis.eval(UNCOUNT, keys.length, ...keys).catch(() => {});
          throw err;
        }
        // A lost refund leaves a count that expires with its window; the sign-in itself succeeded.
        if (who.counted === "on-failure" && !isFailure(result))
          await deps.redis.eval(REFUND, keys.length, ...keys).catch(() => {});
        return result;
      } finally {
        ticket.release();
      }
    },
  };
}

interface Ticket {
  /**
   * Resolves once this attempt holds one of the process's hashing slots; `first` waits ahead of
   * every `after` (the default), each line first come first served.
   */
  slot(line?: "first" | "after"): Promise<void>;
  /** Frees the source's place and the hashing slot (idempotent). */
  release(): void;
}

/**
 * The in-process part: `enter(source)` refuses (TOO_MANY_ATTEMPTS) a source with too many checks in
 * flight, or anyone when the line for hashing is full; a ticket's `slot()` waits for a hashing slot,
 * first come first served.
 */
function createHashGate(limits: SignInLimits) {
  const inFlight = new Map<string, number>();
  const waiting = { first: [] as (() => void)[], after: [] as (() => void)[] };
  let hashing = 0;
  let entered = 0;

  const busy = (message: string) =>
    new DomainError("TOO_MANY_ATTEMPTS", message, { context: { retryAfterSeconds: 1, limit: "busy" } });

  return {
    enter(source: string | undefined): Ticket {
      const mine = source === undefined ? 0 : (inFlight.get(source) ?? 0);
      if (mine >= limits.sourceConcurrency)
        throw busy("sign-ins from your address are already being checked; retry in a second");
      if (entered >= limits.hashConcurrency + limits.maxQueued)
        throw busy("the server is checking too many passwords right now; retry in a second");
      if (source !== undefined) inFlight.set(source, mine + 1);
      entered++;
      let holds = false;
      let released = false;
      return {
        async slot(line = "after") {
          if (holds || released) return;
          if (hashing < limits.hashConcurrency) hashing++;
          // A freed slot passes straight to the next in line (`hashing` stays counted).
          else await new Promise<void>((resolve) => waiting[line].push(resolve));
          holds = true;
        },
        release() {
          if (released) return;
          released = true;
          entered--;
          const left = source === undefined ? 0 : (inFlight.get(source) ?? 1) - 1;
          if (left > 0) inFlight.set(source!, left);
          else if (source !== undefined) inFlight.delete(source);
          if (!holds) return;
          const next = waiting.first.shift() ?? waiting.after.shift();
          if (next) next();
          else hashing--;
        },
      };
    },
  };
}
