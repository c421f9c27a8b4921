/** Small zod building blocks shared by the input schemas of several modules. */
import { z } from "zod";

/**
 * Trimmed, non-empty text on one line, of at most `max` characters: labels, names, subjects. No CR,
 * LF or NUL, so it can never split a log line, a header or a config line.
 */
export const oneLine = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\r\n\0]*$/, "must be one line");

/** How deep a JSON document may nest (objects and arrays). Real inputs stay under ten levels. */
export const MAX_JSON_DEPTH = 64;

/** Why a text cannot be stored: Postgres refuses NUL in `text` and `jsonb`, and lone surrogates in `jsonb`. */
export function unsafeTextReason(text: string): string | undefined {
  if (text.includes("\0")) return "contains a NUL character (U+0000)";
  if (LONE_SURROGATE.test(text)) return "contains a lone UTF-16 surrogate (not valid Unicode)";
  return undefined;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The first reason a parsed JSON value must be refused, with where it sits (`data.a[2]`), or
 * undefined when it is fine: nesting deeper than `maxDepth`, a string or key with a NUL or a lone
 * surrogate (Postgres cannot store either), or a `__proto__` key (an object whose keys read
 * differently in every parser). Walks without recursion, so any depth is safe to inspect.
 */
export function inspectJson(
  value: unknown,
  maxDepth = MAX_JSON_DEPTH,
): { path: string; reason: string } | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: "", depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value: v, path, depth } = item;
    if (typeof v === "string") {
      const reason = unsafeTextReason(v);
      if (reason) return { path, reason };
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    if (depth >= maxDepth) return { path, reason: `nests deeper than ${maxDepth} levels` };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--)
        stack.push({ value: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(v)) {
      const where = path ? `${path}.${key}` : key;
      if (key === "__proto__") return { path: where, reason: "is a key no input may use" };
      const reason = unsafeTextReason(key);
      if (reason) return { path: path || "body", reason: `has a key that ${reason}` };
      stack.push({ value: (v as Record<string, unknown>)[key], path: where, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * An ISO 8601 timestamp with a zone (`2030-01-01T00:00:00Z`, `…+02:00`) or a date (`2030-01-01`,
 * midnight UTC) that lies in the future, as a `Date`. Numbers, booleans and free text such as
 * "tomorrow" are refused: `z.coerce.date()` took `0` or `true` for a date in 1970.
 */
export const FutureDate = z
  .union([z.iso.datetime({ offset: true }), z.iso.date()], {
    error: "must be an ISO 8601 date or timestamp with a zone, such as 2030-01-01T00:00:00Z",
  })
  .transform((v) => new Date(v))
  .refine((d) => d.getTime() > Date.now(), "must be in the future");
