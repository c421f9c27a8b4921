/**
 * `/docs`: Swagger UI for `/openapi.json`, and `/redoc`: Redoc for the same document, both served from
 * their npm packages (swagger-ui-dist, redoc's standalone bundle) so the pages work offline (no CDN).
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { Hono } from "hono";
import type { AppEnv } from "./env.js";

const ASSETS: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
  "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>wiresync API</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png" />
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});`;

const REDOC_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>wiresync API reference</title>
  <link rel="icon" href="/docs/assets/favicon-32x32.png" />
  <style>body { margin: 0; }</style>
</head>
<body>
  <redoc spec-url="/openapi.json"></redoc>
  <script src="/redoc/redoc.standalone.js"></script>
</body>
</html>`;

/**
 * The Redoc page's policy: everything from this origin. Foot-gun: Redoc's sidebar always shows a
 * "by Redocly" logo from cdn.redoc.ly; `img-src` keeps the browser from fetching it (Redoc then
 * hides the image), so reading the docs tells no third party. Styles are inline (styled-components)
 * and search runs in a worker made from a blob.
 */
const REDOC_POLICY = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "worker-src 'self' blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
].join("; ");

/** Serves `file` from `dir` with `type`, read once and kept in memory. */
function cachedAsset(dir: string, file: string, type: string) {
  let body: Buffer | undefined;
  return async () => {
    body ??= await readFile(path.join(dir, file));
    return new Response(new Uint8Array(body), {
      headers: { "Content-Type": type, "Cache-Control": "public, max-age=86400" },
    });
  };
}

export function mountDocs(app: Hono<AppEnv>) {
  const redocDir = path.dirname(createRequire(import.meta.url).resolve("redoc/bundles/redoc.standalone.js"));
  app.get("/redoc", (c) => c.html(REDOC_PAGE, 200, { "Content-Security-Policy": REDOC_POLICY }));
  app.get(
    "/redoc/redoc.standalone.js",
    cachedAsset(redocDir, "redoc.standalone.js", "application/javascript; charset=utf-8"),
  );

  const dir = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const cache = new Map<string, Buffer>();
  app.get("/docs", (c) => c.html(PAGE));
  app.get("/docs/init.js", (c) =>
    c.body(INIT, 200, { "Content-Type": "application/javascript; charset=utf-8" }),
  );
  app.get("/docs/assets/:file", async (c) => {
    const file = c.req.param("file");
    const type = ASSETS[file];
    if (!type) return c.notFound();
    let body = cache.get(file);
    if (!body) {
      body = await readFile(path.join(dir, file));
      cache.set(file, body);
    }
    return c.body(new Uint8Array(body), 200, {
      "Content-Type": type,
      "Cache-Control": "public, max-age=86400",
    });
  });
}
