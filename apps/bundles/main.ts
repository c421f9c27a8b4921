/**
 * `npm run build:bundles`: writes the single-file CLI and agent to `dist/` (or the folder given as the
 * first argument) and prints each file with its size.
 *
 *   npx tsx apps/bundles/main.ts [outdir]
 */
import path from "node:path";
import { buildBundles } from "./build.js";

const outdir = process.argv[2] ?? "dist";
for (const bundle of await buildBundles(outdir)) {
  const kb = Math.round(bundle.bytes / 1024);
  process.stdout.write(`${path.relative(process.cwd(), bundle.file)}  ${kb} KiB\n`);
}
