import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../../apps/api/env.js";
import { mountDashboard } from "../../../apps/dashboard/mount.js";

const PUBLIC_DIR = "apps/dashboard/public";

function dashboardApp(dir?: string) {
  const app = new Hono<AppEnv>();
  mountDashboard(app, dir);
  return app;
}

const scripts = readdirSync(PUBLIC_DIR, { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".js"))
  .map((f) => f.split(path.sep).join("/"));

describe("serving the dashboard", () => {
  const app = dashboardApp();

  it("serves the page at / with a content security policy and a validator", async () => {
    const res = await app.request("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'self'.*img-src 'self' blob:/);
    expect(res.headers.get("cache-control")).toBe("no-cache");
    const etag = res.headers.get("etag")!;
    expect(etag).toMatch(/^".+"$/);
    const again = await app.request("/", { headers: { "If-None-Match": etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
  });

  it.each(["app.js", "views/network.js", "style.css", "icon.svg"])("serves /dashboard/%s", async (file) => {
    const res = await app.request(`/dashboard/${file}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(readFileSync(path.join(PUBLIC_DIR, file), "utf8"));
  });

  it.each([
    "/dashboard/../package.json",
    "/dashboard/%2e%2e/mount.ts",
    "/dashboard/..%2fmount.ts",
    "/dashboard/views/../../mount.ts",
    "/dashboard/",
    "/dashboard/missing.js",
  ])("answers 404 for %s", async (url) => {
    const res = await app.request(url);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/mountDashboard|"private"/);
  });

  it("answers 404, not a crash, when its files are not installed", async () => {
    const res = await dashboardApp("/nonexistent/wiresync-dashboard").request("/");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toBe("the dashboard has no file index.html");
  });

  it("serves every module the page imports", async () => {
    const imports = scripts.flatMap((file) =>
      [...readFileSync(path.join(PUBLIC_DIR, file), "utf8").matchAll(/from "(\.{1,2}\/[^"]+)"/g)].map((m) =>
        path.posix.join(path.posix.dirname(file), m[1]!),
      ),
    );
    expect(imports.length).toBeGreaterThan(10);
    for (const target of new Set(imports)) {
      expect((await app.request(`/dashboard/${target}`)).status, target).toBe(200);
    }
  });

  it.each(scripts)("%s never parses server strings as markup", (file) => {
    const source = readFileSync(path.join(PUBLIC_DIR, file), "utf8");
    expect(source).not.toMatch(
      /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|\beval\(|new Function/,
    );
  });
});
