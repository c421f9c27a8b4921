import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { EnvSchema, parseConfig } from "../../src/config.js";

const example = readFileSync(".env.example", "utf8");
const entries = example
  .split("\n")
  .filter((l) => /^[A-Z_]+=/.test(l))
  .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)] as const);

describe(".env.example", () => {
  it("lists every variable of the config schema, in schema order, each with a comment", () => {
    const schemaKeys = Object.keys(EnvSchema.shape);
    expect(entries.map(([k]) => k)).toEqual(schemaKeys);
    const lines = example.split("\n");
    for (const [key] of entries) {
      const at = lines.findIndex((l) => l.startsWith(`${key}=`));
      expect(lines[at - 1], `${key} needs a comment above it`).toMatch(/^# /);
    }
  });

  it("is documented in the README's configuration table", () => {
    const readme = readFileSync("README.md", "utf8");
    for (const [key] of entries) expect(readme).toMatch(new RegExp(`\\| \`${key}\` +\\|`));
  });

  it("is itself a valid configuration that means the defaults", () => {
    const env = Object.fromEntries(entries.filter(([, v]) => v !== ""));
    expect(parseConfig(env)).toEqual(parseConfig({ LOG_FORMAT: undefined }));
  });
});
