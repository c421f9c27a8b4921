import { describe, expect, it } from "vitest";
import { DEFAULT_CLI_URL, parseCliConfig } from "../../src/cli-config.js";

describe("parseCliConfig", () => {
  it.each([
    ["nothing set means the local server and no key", {}, { url: DEFAULT_CLI_URL, apiKey: undefined }],
    [
      "a trailing slash is dropped and the key trimmed",
      { WIRESYNC_URL: "https://vpn.example.com/", WIRESYNC_API_KEY: " wsk_abc " },
      { url: "https://vpn.example.com", apiKey: "wsk_abc" },
    ],
    [
      "an empty URL or key counts as unset",
      { WIRESYNC_URL: "", WIRESYNC_API_KEY: "  " },
      { url: DEFAULT_CLI_URL, apiKey: undefined },
    ],
    [
      "a path prefix is kept",
      { WIRESYNC_URL: "http://10.0.0.1:8080/wiresync" },
      { url: "http://10.0.0.1:8080/wiresync", apiKey: undefined },
    ],
  ])("%s", (_name, env, config) => {
    expect(parseCliConfig(env)).toEqual({ ok: true, config });
  });

  it.each([
    ["not a URL", "vpn.example.com"],
    ["a scheme other than http(s)", "ftp://vpn.example.com"],
  ])("refuses %s, naming the variable and an example", (_name, url) => {
    expect(parseCliConfig({ WIRESYNC_URL: url })).toEqual({
      ok: false,
      problems: [
        `WIRESYNC_URL: must be an http(s) URL such as http://127.0.0.1:8080, not ${JSON.stringify(url)}`,
      ],
    });
  });
});
