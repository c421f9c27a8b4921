/**
 * The admin dashboard at `/`: plain HTML, CSS and ES modules from `apps/dashboard/public` (no build
 * step, nothing from a CDN), listed once at mount, read on first request and then served from memory.
 * The files hold no data and need no credentials; everything they show comes from the API, through
 * its guards, with the browser's session cookie. Never serves a path it did not list.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Context, Hono } from "hono";
import type { AppEnv } from "../api/env.js";
import { problem } from "../api/http/problem.js";

/** Where the page's assets are served from; the page's own address is `/`. */
export const DASHBOARD_ASSETS_PATH = "/dashboard";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * Scripts and styles from this origin only, images also from `blob:` (the node config's QR code is
 * fetched with the cookie and shown from a blob). A second line of defence: the page renders every
 * server string as text.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
}

/** `public/` next to this module when run from source; `apps/dashboard/public` beside `dist/` when built. */
function defaultPublicDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, "public"), path.join(here, "../../../apps/dashboard/public")];
  return candidates.find((dir) => existsSync(path.join(dir, "index.html"))) ?? candidates[0]!;
}

/** Relative paths (with `/`) of the files the dashboard may serve: known types, no dotfiles. */
function listFiles(dir: string): Set<string> {
  if (!existsSync(dir)) return new Set();
  const files = new Set<string>();
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    const relative = entry.split(path.sep).join("/");
    if (relative.split("/").some((part) => part.startsWith("."))) continue;
    if (TYPES[path.extname(relative)] && statSync(path.join(dir, entry)).isFile()) files.add(relative);
  }
  return files;
}

/** Mounts `GET /` (the page) and `GET /dashboard/*` (its scripts, styles and icon). */
export function mountDashboard(app: Hono<AppEnv>, publicDir: string = defaultPublicDir()): void {
  const files = listFiles(publicDir);
  const cache = new Map<string, Promise<Asset>>();

  const load = (relative: string) => {
    let asset = cache.get(relative);
    if (!asset) {
      asset = readFile(path.join(publicDir, relative)).then((buf) => ({
        body: new Uint8Array(buf),
        etag: `"${createHash("sha256").update(buf).digest("base64url").slice(0, 22)}"`,
      }));
      // A failed read is retried on the next request rather than cached.
      asset.catch(() => cache.delete(relative));
      cache.set(relative, asset);
    }
    return asset;
  };

  const send = async (c: Context<AppEnv>, relative: string) => {
    if (!files.has(relative)) {
      return problem(c, 404, "NOT_FOUND", `the dashboard has no file ${relative}`);
    }
    const asset = await load(relative);
    const headers: Record<string, string> = {
      "Content-Type": TYPES[path.extname(relative)]!,
      // Revalidate every time: a deploy shows at once, and an unchanged file costs a 304.
      "Cache-Control": "no-cache",
      ETag: asset.etag,
    };
    if (relative === "index.html") headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY;
    if (c.req.header("if-none-match") === asset.etag) return c.body(null, 304, headers);
    return c.body(asset.body, 200, headers);
  };

  app.get("/", (c) => send(c, "index.html"));
  app.get(`${DASHBOARD_ASSETS_PATH}/*`, (c) => send(c, c.req.path.slice(DASHBOARD_ASSETS_PATH.length + 1)));
}
