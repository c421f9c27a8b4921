import { describe, expect, it } from "vitest";
import { renderResolvConf } from "../../../src/agent/index.js";

describe("renderResolvConf", () => {
  it("makes addresses name servers and names search domains, marked as wiresync's", () => {
    expect(renderResolvConf("wg0", ["10.0.0.53", "fd00::53", "corp.example"])).toBe(
      "# wiresync: DNS of WireGuard interface wg0, set by the wiresync agent\nnameserver 10.0.0.53\nnameserver fd00::53\nsearch corp.example\n",
    );
  });
});
