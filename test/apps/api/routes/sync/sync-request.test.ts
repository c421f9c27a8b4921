import { describe, expect, it } from "vitest";
import { syncRequestOf } from "../../../../../apps/api/routes/sync/schemas.js";

const NET = "5b0c8a36-3e2f-4a3b-9a55-0f2b8f6b9f11";

describe("syncRequestOf", () => {
  it.each([
    ["a bare full sync runs with no options and no notes", "full", {}, {}, []],
    ["a full sync keeps skip_usage: true", "full", { skip_usage: true }, { skipUsage: true }, []],
    ["a full sync with skip_usage: false sets nothing", "full", { skip_usage: false }, {}, []],
    [
      "skip_users is ignored, and said so, whatever its value",
      "full",
      { skip_users: false },
      {},
      ["skip_users ignored: wiresync has no users to sync"],
    ],
    [
      "a full sync ignores network_id, and says so",
      "full",
      { network_id: NET },
      {},
      ["network_id ignored: a full sync covers every network"],
    ],
    ["a partial sync keeps network_id", "peers", { network_id: NET }, { networkId: NET }, []],
    [
      "a partial sync ignores skip_usage, and says so",
      "usage",
      { skip_usage: true },
      {},
      ["skip_usage ignored: it applies to full syncs, not usage"],
    ],
    [
      "every ignored option gets its own note, in order",
      "configs",
      { skip_users: true, skip_usage: true, network_id: NET },
      { networkId: NET },
      [
        "skip_users ignored: wiresync has no users to sync",
        "skip_usage ignored: it applies to full syncs, not configs",
      ],
    ],
  ] as const)("%s", (_name, type, body, options, notes) => {
    const request = syncRequestOf(type, { ...body, requested_by: "panel" });
    expect(request).toEqual({ type, options, requestedBy: "panel", notes });
  });
});
