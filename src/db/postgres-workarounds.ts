/**
 * Workarounds for postgres.js (pinned at 3.4.9 in package.json) and drizzle-orm behaviour, in one
 * place. Each names the upstream issue it works around; test/src/db/postgres-workarounds.test.ts
 * checks the upstream bugs are still there (and fails when an upgrade fixes one, so that its
 * workaround can go), and test/src/db/client.test.ts and timeouts.test.ts check the workarounds.
 *
 * - `driverClient`: drizzle runs every query unprepared (drizzle-orm#6096): prepare them.
 * - `beginGuarded`: a connection dying mid-transaction lets the body's later statements run, and
 *   commit, outside it; and a queued `reserve()` is lost when a connection closes
 *   (porsager/postgres#1195), so transactions use `begin`, guarded, never `reserve()`.
 * - `silenceGuard`: postgres.js has no query timeout; a silent socket holds its queries for good.
 * - `boundWait`: a query waiting for a connection while the database stalls waits a connect timeout
 *   per query ahead of it. Uses postgres.js 3.4 query internals (`PgQuery`).
 *
 * Two bugs cannot be worked around from outside the driver, so postgres.js itself is patched on
 * install (`.ci/patches/postgres+3.4.9.patch`, applied by patch-package in `postinstall`):
 * - a write to a connection whose socket is gone threw from a setImmediate and ended the process
 *   (porsager/postgres#1154, #1208); it now fails the connection's queries with CONNECTION_CLOSED
 *   (test/src/db/postgres-workarounds.test.ts checks the patch is in effect);
 * - a stale prepared statement (a schema change under a running process) was retried by the driver
 *   also inside a failed transaction, where the retry can only fail, and, pipelined behind other
 *   statements, it left the connection idle in an aborted transaction for good (an enrollment hung:
 *   test/src/mesh/stale-plan.test.ts timed out in about 1 run of 3). Inside a failed transaction the
 *   statement is now dropped and the error returned, and the unit of work retries the transaction.
 */
import { connect as connectTcp, type Socket } from "node:net";
import type { Sql, TransactionSql } from "postgres";

/**
 * The client drizzle sees: guarded transactions and, unless `prepare` is false, every query run
 * prepared.
 *
 * Prepared: drizzle runs queries through `sql.unsafe(text, params)`, which postgres.js treats as
 * unprepared, and postgres.js sends an unprepared query with parameters in two round trips
 * (Parse/Describe to learn the parameter types, then Bind/Execute) and pipelines nothing behind it
 * (drizzle-orm#6096). Prepared, a statement is parsed once per connection (postgres.js keeps them
 * until the connection is recycled, every 30–60 minutes) and each later run is one Bind/Execute that
 * pipelines with the queries around it. That halves the round trips of every transaction.
 *
 * Transactions: see `beginGuarded`.
 *
 * `waitBoundMs` (the pool's own client; a transaction's statements have their connection already):
 * how long a query or transaction may wait for a connection, see `boundWait`.
 */
export function driverClient(sql: Sql, prepare: boolean, waitBoundMs?: number): Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      switch (property) {
        case "unsafe":
          if (!prepare && waitBoundMs === undefined) break;
          return (query: string, params?: unknown[], options?: Record<string, unknown>) => {
            const sent = target.unsafe(
              query,
              params as never,
              prepare ? { ...options, prepare: true } : options,
            );
            return waitBoundMs === undefined ? sent : boundWait(sent, waitBoundMs);
          };
        case "begin":
          return (...args: unknown[]) => {
            const body = args.pop() as (scope: Sql) => unknown;
            const mode = typeof args[0] === "string" ? args[0] : "";
            return beginGuarded(target, mode, (scope) => body(driverClient(scope, prepare)), waitBoundMs);
          };
        case "savepoint": {
          // On a transaction's client: the savepoint's client is wrapped the same way.
          const savepoint = Reflect.get(target, property) as
            | ((inner: (scope: Sql) => unknown) => Promise<unknown>)
            | undefined;
          if (savepoint === undefined) break;
          return (inner: (scope: Sql) => unknown) =>
            savepoint.call(target, (scope: Sql) => inner(driverClient(scope, prepare)));
        }
        default:
          break;
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

/**
 * Runs `body` in postgres.js's `begin`, guarded: once the transaction is over, by commit, rollback
 * or the death of its connection, the body's statements are refused instead of sent.
 *
 * IMPORTANT: should the connection die mid-transaction, postgres.js fails the transaction, but the
 * body may still be running; the pool reconnects that connection for its next user, and a statement
 * of the body sent after that would run on the new session, outside any transaction, and be
 * committed (or, sent while the connection is down, crash the process: postgres.js writes to a
 * socket that is gone). The transaction hears of the death as it happens: its statements carry
 * postgres.js's `onexecute`, which hands over their connection, whose `onclose` it then chains.
 *
 * Not `reserve()` with BEGIN sent alongside the first statements, which saved BEGIN's round trip:
 * in postgres.js 3.4.9 a queued reserve is never served once a connection closes while it waits
 * (porsager/postgres#1195), and its transaction waits forever. Under load, with connections recycled
 * every 30–60 minutes, that would happen again and again.
 */
async function beginGuarded<T>(
  pool: Sql,
  mode: string,
  body: (scope: Sql) => Promise<T> | T,
  waitBoundMs?: number,
): Promise<T> {
  let over: Error | null = null;
  let died = false;
  let watched: PgConnection | null = null;
  const onexecute = (c: PgConnection) => {
    if (watched === null) {
      watched = c;
      const then = c.onclose;
      c.onclose = (err) => {
        over ??= err;
        died = true;
        then?.(err);
      };
    }
    return true; // as without `onexecute`: the connection takes more statements behind this one
  };
  // After its connection died, the body's end is kept from postgres.js, which would send COMMIT or
  // ROLLBACK on that connection, by then perhaps another transaction's. The transaction has failed
  // already (postgres.js rejects it when the connection closes).
  const unlessDead = <R>(settled: Promise<R>): Promise<R> =>
    settled.then(
      (value) => (died ? new Promise<R>(() => {}) : value),
      (err: unknown) => (died ? new Promise<R>(() => {}) : Promise.reject(err)),
    );
  const guard = (scope: TransactionSql): Sql => {
    const send = scope.unsafe.bind(scope);
    const savepoint = scope.savepoint.bind(scope) as (inner: (inside: TransactionSql) => unknown) => unknown;
    return Object.assign(scope, {
      unsafe: ((query: string, params?: unknown[], options?: Record<string, unknown>) => {
        if (over) throw over;
        return send(query, params as never, { ...options, onexecute } as never);
      }) as Sql["unsafe"],
      savepoint: (inner: (inside: Sql) => unknown) =>
        savepoint((inside) => unlessDead(Promise.resolve().then(() => inner(guard(inside))))),
    }) as unknown as Sql;
  };
  // Not begun within `waitBoundMs` (no connection, or BEGIN unanswered): the caller is answered
  // then, and should BEGIN succeed later, the body is not run and the transaction rolls back.
  let hasBegun = false;
  let isAbandoned = false;
  let timer: NodeJS.Timeout | undefined;
  const begun = pool.begin(mode, (scope) => {
    if (isAbandoned) throw waitExceeded(waitBoundMs ?? 0);
    hasBegun = true;
    return unlessDead(Promise.resolve().then(() => body(guard(scope))));
  }) as Promise<T>;
  const abandoned = new Promise<never>((_, reject) => {
    if (waitBoundMs === undefined) return;
    timer = setTimeout(() => {
      if (hasBegun) return;
      isAbandoned = true;
      begun.catch(() => {});
      reject(waitExceeded(waitBoundMs));
    }, waitBoundMs);
  });
  try {
    return await Promise.race([begun, abandoned]);
  } finally {
    clearTimeout(timer);
    over ??= new Error("the transaction is over: its statements can no longer run");
  }
}

/**
 * postgres.js's `socket` option for a plain TCP or unix-socket URL: each connection's socket is
 * destroyed once it has sent something and heard nothing back for `timeoutMs`, which fails its
 * queries with `CONNECTION_CLOSED`.
 * postgres.js has no query timeout of its own, and neither a server-side `statement_timeout` (the
 * statement never reaches the server) nor `query.cancel()` (sent on a new connection, which stalls
 * the same way) ends a query on a silent socket: destroying the socket does, failing every query on
 * that connection, and the pool opens a fresh one for the next query.
 *
 * Foot-gun: an answer to one of two pipelined queries disarms the bound for the other until the
 * connection next sends; the server's `statement_timeout` still bounds it if the server is there.
 * TLS URLs (`sslmode`) keep postgres.js's own socket, which TLS wraps: they go unguarded.
 */
export function silenceGuard(url: string, timeoutMs: number): { socket?: (o: SocketOptions) => Socket } {
  const sslmode = new URL(url).searchParams.get("sslmode") ?? new URL(url).searchParams.get("ssl");
  if ((sslmode && sslmode !== "disable" && sslmode !== "false") || timeoutMs <= 0) return {};
  let next = 0;
  return {
    socket(o) {
      const at = next++ % Math.max(1, o.host.length);
      const host = o.host[at] ?? "localhost";
      const port = o.port[at] ?? o.port[0] ?? 5432;
      const socket = o.path ? connectTcp(o.path) : connectTcp(port, host);
      Object.assign(socket, { host, port });
      // IMPORTANT: unarmed until the handshake ends (the server's first ReadyForQuery): until then
      // `connect_timeout` bounds it, and postgres.js fails a waiting query only on that timer; a
      // connection closed during its handshake is reopened at once, again and again.
      let isReady = false;
      let tail = Buffer.alloc(0);
      // IMPORTANT: a timer of its own, not `socket.setTimeout`: that is an idle timeout, which every
      // write restarts, so queries pipelined onto a silent connection (a scheduler's tick every
      // 200 ms) kept putting the bound off, and a request waited 13 s for a 3 s bound.
      let silence: NodeJS.Timeout | undefined;
      const hush = () => {
        clearTimeout(silence);
        silence = undefined;
      };
      const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
      socket.write = ((...args: unknown[]) => {
        // Foot-gun: destroyed without an error. With one, the socket emits 'error' and then, a tick
        // later, 'close'; postgres.js fails the connection's queries on the first, and a query sent
        // in between (by code retrying at once) waits forever on the dead connection (postgres.js
        // 3.4.9 fails queries at a 'close' only when it had no error). Without one, 'close' fails
        // them all with CONNECTION_CLOSED, then frees the connection for a reconnect, in one go.
        if (isReady && silence === undefined) silence = setTimeout(() => socket.destroy(), timeoutMs);
        return write(...args);
      }) as Socket["write"];
      socket.on("data", (chunk: Buffer) => {
        if (!isReady) {
          tail = Buffer.concat([tail, chunk]).subarray(-READY_FOR_QUERY_BYTES);
          isReady = tail.length === READY_FOR_QUERY_BYTES && tail[0] === 0x5a && tail.readInt32BE(1) === 5;
        }
        hush();
      });
      socket.on("close", hush);
      return socket;
    },
  };
}

/** ReadyForQuery: 'Z', its length (5), the transaction status. The handshake's last message. */
const READY_FOR_QUERY_BYTES = 6;

/** What postgres.js hands its `socket` option: the URL's hosts and ports, or a unix socket's path. */
interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
}

/**
 * Fails `query` when it has waited `ms` for a connection without being handed one; once it is, the
 * silence guard bounds it. The query itself is turned into `select 1` (its text, parameters and
 * all), so that when a connection takes it later it changes nothing and the connection goes on as
 * usual (a query cancelled instead would leave a connection that opens for it stuck in its
 * handshake for good). Returns `query`, still lazy: postgres.js runs a query when it is first
 * awaited, in the mode set by then (e.g. `.values()`).
 *
 * Why: while the database stalls, postgres.js hands each connection that fails one waiting query
 * at a time, so under load a request waited a connect timeout for every query ahead of it.
 */
export function boundWait<Q>(query: Q, ms: number): Q {
  const pending = query as unknown as PgQuery;
  const handle = pending.handle.bind(pending);
  pending.handle = () => {
    if (pending.executed) return handle();
    const timer = setTimeout(() => {
      if (pending.state) return;
      pending.strings = ["select 1"];
      pending.args = [];
      pending.options = { ...pending.options, prepare: false, simple: true };
      pending.reject(waitExceeded(ms));
    }, ms);
    // The native `then`: postgres.js's own would run the query; this one only watches it settle.
    const clear = () => clearTimeout(timer);
    Promise.prototype.then.call(pending, clear, clear);
    return handle();
  };
  return query;
}

/** The parts of a postgres.js query `boundWait` uses (internal to postgres.js 3.4). */
interface PgQuery {
  handle(): Promise<void>;
  executed: boolean;
  /** Set when a connection takes the query. */
  state: unknown;
  strings: string[];
  args: unknown[];
  options: Record<string, unknown>;
  reject(err: Error): void;
}

/** The error of a query or transaction that got no connection in time (a 503 at the API). */
export function waitExceeded(ms: number): Error {
  return Object.assign(new Error(`no database connection answered within ${ms} ms`), {
    code: "CONNECT_TIMEOUT",
  });
}

/** What postgres.js's `onexecute` hands over: the pool's connection a statement went out on. */
interface PgConnection {
  onclose: ((err: Error) => void) | null;
}
