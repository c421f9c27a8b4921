/**
 * Single-file builds of the `wiresync` CLI and the `wiresync-agent` node agent: each is one ES module
 * that runs with plain `node` (20 or later) and needs no node_modules, which is what the npm package's
 * `bin` entries point at and what a node copies to install the agent.
 *
 * `wiresync migrate` is a third file, `wiresync-migrate.mjs`, which the CLI loads from beside itself
 * for that command only: the database code is most of wiresync, and loading it would make every
 * other CLI call start several times slower. Left out of all files, and loaded only where a feature
 * needs them: ws's optional native helpers (ws works without them), and the embedded database
 * (PGlite ships WebAssembly and data files beside its code), which only `wiresync migrate` without
 * `DATABASE_URL` uses, from wiresync's own dependencies.
 */
import { chmod, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "esbuild";
import { build } from "esbuild";

/** The repository root (this file is apps/bundles/build.ts). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Each bundle's file name (without `.mjs`) and its entry point. */
const BUNDLES = {
  wiresync: "apps/cli/main.ts",
  "wiresync-migrate": "apps/cli/migrate.ts",
  "wiresync-agent": "apps/agent/main.ts",
} as const;

type BundleName = keyof typeof BUNDLES;

/**
 * Imports kept out of the bundles. The pglite ones are reached only through dynamic `import()` in
 * src/db/client.ts, so they stay dynamic in the output and are resolved at run time, by the one
 * command that needs them.
 */
const EXTERNAL = [
  "bufferutil",
  "utf-8-validate",
  "@electric-sql/pglite",
  "drizzle-orm/pglite",
  "drizzle-orm/pglite/migrator",
] as const;

/**
 * Bundled CommonJS packages call `require` for Node's built-in modules; an ES module has none, so
 * each bundle makes one first. The shebang lets the file run as a command.
 */
const BANNER = [
  "#!/usr/bin/env node",
  'import { createRequire as __wiresyncCreateRequire } from "node:module";',
  "const require = __wiresyncCreateRequire(import.meta.url);",
].join("\n");

/** The CLI's `import("./migrate.js")` becomes a load of `wiresync-migrate.mjs` from beside the CLI's file. */
const migrateBesideCli: Plugin = {
  name: "wiresync-migrate-beside-cli",
  setup(b) {
    b.onResolve({ filter: /^\.\/migrate\.js$/ }, (args) =>
      args.kind === "dynamic-import" && path.resolve(args.importer) === path.join(ROOT, BUNDLES.wiresync)
        ? { path: "./wiresync-migrate.mjs", external: true }
        : undefined,
    );
  },
};

export interface BuiltBundle {
  name: BundleName;
  /** Absolute path of the `.mjs` file (mode 0755). */
  file: string;
  bytes: number;
}

/**
 * Builds the bundles into `outdir` (`<outdir>/wiresync.mjs`, `wiresync-migrate.mjs`, `wiresync-agent.mjs`), minified,
 * with wiresync's version from package.json compiled in. Returns the files written; throws esbuild's
 * error (with every message) when a build fails.
 */
export async function buildBundles(outdir: string): Promise<BuiltBundle[]> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { version: string };
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: Object.entries(BUNDLES).map(([name, entry]) => ({ in: entry, out: name })),
    outdir: path.resolve(outdir),
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    // Minified code is parsed faster: that is most of a CLI call's start-up.
    minify: true,
    keepNames: true,
    legalComments: "eof",
    banner: { js: BANNER },
    define: { WIRESYNC_BUNDLE_VERSION: JSON.stringify(pkg.version) },
    external: [...EXTERNAL],
    plugins: [migrateBesideCli],
    metafile: true,
    logLevel: "silent",
  });
  const built: BuiltBundle[] = [];
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    const name = path.basename(file, ".mjs") as BundleName;
    const absolute = path.resolve(ROOT, file);
    await chmod(absolute, 0o755);
    built.push({ name, file: absolute, bytes: output.bytes });
  }
  return built.sort((a, b) => a.name.localeCompare(b.name));
}
