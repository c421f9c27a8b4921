/**
 * Real Chromium for browser tests: Debian's `/usr/bin/chromium` through playwright-core, never a
 * downloaded browser. Where it is missing the tests skip loudly, except on CI (`CI=true`), where
 * they fail.
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
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
