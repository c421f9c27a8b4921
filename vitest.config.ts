import { existsSync } from "node:fs";
import { defineConfig } from "vitest/config";

if (existsSync(".env.test")) process.loadEnvFile(".env.test");

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    pool: "forks",
    // Vitest's default is one fork less than the CPUs: a single fork on a 2-CPU CI machine, and most
    // files spend their time waiting on Postgres, Redis, child processes and wireguard-go (the e2e,
    // worker and browser files used 422 CPU-seconds in a 902 s run, children included). Two forks
    // overlap one file's waits with another's work. Each file has its own database, Redis prefix and
    // random namespace and interface names, so files do not see each other. More forks would crowd
    // Postgres's 100 connections while the fault tests' worker children run.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    reporters: process.env.CI ? ["default"] : ["default"],
    sequence: { hooks: "stack" },
  },
});
