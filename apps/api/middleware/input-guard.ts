/**
 * The one check of hostile text at the HTTP boundary, before authentication and before any route:
 * a NUL or a lone surrogate anywhere in the path, the query or a JSON body, JSON nested deeper than
 * `MAX_JSON_DEPTH`, or a `__proto__` key is refused with 400 VALIDATION_FAILED. Postgres refuses NUL
 * in text and lone surrogates in jsonb with an error of its own, so without this each such value
 * became a 500 in whichever route first stored or searched it; deep nesting overflowed the stack.
 * Routes then see only text Postgres can hold, and their zod schemas check the rest.
 */
import type { MiddlewareHandler } from "hono";
import { inspectJson, MAX_JSON_DEPTH, unsafeTextReason } from "../../../src/validation.js";
import type { AppEnv } from "../env.js";
import { problem } from "../http/problem.js";

/** Names `where` in a message without echoing much of what the caller sent. */
const clip = (where: string) => (where.length > 80 ? `${where.slice(0, 77)}...` : where);

export function inputGuard(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const refuse = (where: string, reason: string) =>
      problem(c, 400, "VALIDATION_FAILED", `${clip(where)}: ${reason}`, {
        issues: [{ path: clip(where), message: reason }],
      });
    // The raw URL, not a parsed one: this runs for every API request, and it needs only the path
    // and the query's parameters. A request URL has no fragment.
    const url = c.req.url;
    const queryAt = url.indexOf("?");
    const path = url.slice(url.indexOf("/", url.indexOf("//") + 2), queryAt === -1 ? undefined : queryAt);
    // Foot-gun: the router decodes %00 into path parameters; the raw path still shows it.
    if (path.includes("%00")) return refuse("path", "contains a NUL character (U+0000)");
    const params = queryAt === -1 ? [] : new URLSearchParams(url.slice(queryAt + 1));
    for (const [name, value] of params) {
      const reason = unsafeTextReason(name) ?? unsafeTextReason(value);
      if (reason) return refuse(`query ${unsafeTextReason(name) ? "parameter name" : name}`, reason);
    }
    const type = c.req.header("content-type") ?? "";
    if (/json/i.test(type) && c.req.method !== "GET" && c.req.method !== "HEAD") {
      // Read once here; Hono keeps the text, and the route's validator parses it from there.
      const text = await c.req.text();
      if (text.trim() !== "") {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return refuse("body", "is not valid JSON");
        }
        const found = inspectJson(body, MAX_JSON_DEPTH);
        if (found) return refuse(found.path || "body", found.reason);
      }
    }
    return next();
  };
}
