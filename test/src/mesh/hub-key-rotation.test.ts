import { describe, expect, it } from "vitest";
import type { RotationNode } from "../../../src/mesh/hub-key-rotation.js";
import { rotationAudience, rotationKind, switchReason } from "../../../src/mesh/hub-key-rotation.js";

const base: RotationNode = {
  id: "a",
  name: "a",
  status: "online",
  privateKeyEnc: null,
  tokenHash: "h",
  configVersion: 5,
  appliedConfigVersion: 4,
};

describe("rotationKind", () => {
  it("tells agent, server-held and manual nodes apart, and skips disabled ones", () => {
    expect(rotationKind(base)).toBe("agent");
    expect(rotationKind({ ...base, privateKeyEnc: "v1.x" })).toBe("server");
    // A token but no agent ever reported a config: nobody will add the next key.
    expect(rotationKind({ ...base, appliedConfigVersion: null })).toBe("manual");
    expect(rotationKind({ ...base, tokenHash: null })).toBe("manual");
    expect(rotationKind({ ...base, status: "disabled" })).toBeUndefined();
  });
});

describe("rotationAudience", () => {
  it("waits for agents below the version recorded for them (their current one if none was)", () => {
    const nodes: RotationNode[] = [
      { ...base, id: "a", name: "a", appliedConfigVersion: 6 },
      { ...base, id: "b", name: "b", appliedConfigVersion: 5 },
      { ...base, id: "c", name: "c", configVersion: 9, appliedConfigVersion: 8 },
      { ...base, id: "s", name: "s", privateKeyEnc: "v1.x" },
      { ...base, id: "m", name: "m", tokenHash: null },
      { ...base, id: "d", name: "d", status: "disabled" },
    ];
    expect(rotationAudience(nodes, { a: 6, b: 6 })).toEqual({
      waiting: [
        { nodeId: "b", name: "b", configVersion: 6, appliedConfigVersion: 5 },
        { nodeId: "c", name: "c", configVersion: 9, appliedConfigVersion: 8 },
      ],
      confirmed: 1,
      serverHeld: [{ nodeId: "s", name: "s" }],
      manual: [{ nodeId: "m", name: "m" }],
    });
  });
});

describe("switchReason", () => {
  const now = new Date("2026-01-01T00:10:00Z");
  it("switches when nobody waits, or at the deadline", () => {
    expect(switchReason({ waiting: [] }, null, now)).toBe("confirmed");
    const waiting = [{ nodeId: "b", name: "b", configVersion: 6, appliedConfigVersion: 5 }];
    expect(switchReason({ waiting }, new Date("2026-01-01T00:10:01Z"), now)).toBeUndefined();
    expect(switchReason({ waiting }, new Date("2026-01-01T00:10:00Z"), now)).toBe("deadline");
    expect(switchReason({ waiting }, null, now)).toBeUndefined();
  });
});
