/** The success envelope `{ success: true, data }`, for schemas and for responses. */
import { z } from "@hono/zod-openapi";
import type { ZodType } from "zod";

/** `{ success: true, data: <schema> }` for a route's OpenAPI response. */
export function envelope<T extends ZodType>(data: T) {
  return z.object({ success: z.literal(true), data });
}

/** `{ success: true, data: { items, total, limit, offset } }` for paged lists. */
export function pagedEnvelope<T extends ZodType>(item: T) {
  return envelope(
    z.object({
      items: z.array(item),
      total: z.number().int(),
      limit: z.number().int(),
      offset: z.number().int(),
    }),
  );
}

/** Wraps data in the success envelope. */
export const ok = <T>(data: T) => ({ success: true as const, data });

/** Query parameters shared by paged lists. */
export const PageQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50).openapi({ example: 50 }),
  offset: z.coerce.number().int().min(0).default(0),
});

/** A UUID path parameter `id`. */
export const IdParam = z.object({ id: z.uuid().openapi({ param: { name: "id", in: "path" } }) });

/** JSON responses: `{ description, content: { 'application/json': { schema } } }`. */
export function jsonResponse<T extends ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

/** A required JSON request body. */
export function jsonBody<T extends ZodType>(schema: T) {
  return { body: { content: { "application/json": { schema } }, required: true } };
}

/** OpenAPI security requirement of authenticated routes: an API key or a Bearer token. */
export const authenticated: { [name: string]: string[] }[] = [{ apiKey: [] }, { bearer: [] }];
