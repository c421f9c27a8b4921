/**
 * Real Chromium for browser tests: Debian's `/usr/bin/chromium` through playwright-core, never a
 * downloaded browser. Where it is missing the tests skip loudly, except on CI (`CI=true`), where
 * they fail.
 */
import { existsSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { chromium } from "playwright-core";
import { IS_CI } from "./env.js";

export const CHROMIUM_PATH = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Whether browser tests can run here; on CI a missing browser is an error, elsewhere a loud skip. */
export function hasChromium(): boolean {
  if (existsSync(CHROMIUM_PATH)) return true;
  const why = `${CHROMIUM_PATH} is missing: install it with \`apt-get install -y chromium\``;
  if (IS_CI) throw new Error(`browser tests cannot run on CI: ${why}`);
  process.stderr.write(`\n  SKIPPING browser tests: ${why}\n\n`);
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS, headless: true });
}

export interface SignInOptions {
  /** The server's address, e.g. `http://127.0.0.1:8080`. */
  baseURL: string;
  /** An admin (or read) API key to sign in with. */
  key: string;
  /** Viewport width in CSS pixels (1280 unless given; height 800). */
  width?: number;
  height?: number;
  /** Collects the page's script errors, which the test asserts are none. */
  pageErrors?: string[];
}

/**
 * A fresh browser context on the dashboard, signed in with an API key and showing the Overview.
 * The caller closes the returned context (or the browser).
 */
export async function openDashboard(
  browser: Browser,
  options: SignInOptions,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: options.baseURL,
    viewport: { width: options.width ?? 1280, height: options.height ?? 800 },
  });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  if (options.pageErrors) page.on("pageerror", (err) => options.pageErrors?.push(err.message));
  await page.goto("/");
  await page.getByLabel("Admin API key").fill(options.key);
  await page.getByLabel("Admin API key").press("Enter");
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor();
  return { context, page };
}
