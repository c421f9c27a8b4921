import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BenchShell } from "./shell.js";

describe("BenchShell (the shell a bench runs its baseline's commands in)", () => {
  let shell: BenchShell;
  let dir: string;
  beforeAll(async () => {
    shell = new BenchShell();
    dir = await mkdtemp(join(tmpdir(), "bench-shell-"));
  });
  afterAll(async () => {
    await shell.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("hands each argument to the command as it is: spaces, quotes and shell syntax included", async () => {
    const file = join(dir, "it's here.txt");
    const text = `a 'b' "c" $HOME; \`true\` | x\\y`;
    await shell.run("sh", "-c", 'printf "%s" "$1" > "$2"', "sh", text, file);
    expect(await readFile(file, "utf8")).toBe(text);
  });

  it("resolves on exit status 0 and rejects with the status otherwise, in order", async () => {
    const results = await Promise.allSettled([
      shell.run("true"),
      shell.run("sh", "-c", "exit 3"),
      shell.run("test", "x y", "=", "x y"),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain("exited with 3");
  });

  it("refuses commands once closed", async () => {
    const closed = new BenchShell();
    await closed.close();
    await expect(closed.run("true")).rejects.toThrow("closed");
  });
});
