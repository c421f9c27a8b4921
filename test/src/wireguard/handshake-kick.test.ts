import { describe, expect, it } from "vitest";
import { generateKeyPair, handshakeKickPlans, KICK_KEEPALIVE_SECONDS } from "../../../src/wireguard/index.js";

const A = generateKeyPair().publicKey;
const B = generateKeyPair().publicKey;

const keepalives = (plan: { update: readonly { publicKey: string; persistentKeepalive?: number }[] }) =>
  plan.update.map((u) => [u.publicKey, u.persistentKeepalive]);

describe("handshakeKickPlans", () => {
  it("turns every keepalive on from off, then restores each", () => {
    const plans = handshakeKickPlans([
      { publicKey: A, persistentKeepalive: 10 },
      { publicKey: B, persistentKeepalive: null },
    ]);
    expect(plans.map(keepalives)).toEqual([
      [[A, 0]],
      [
        [A, 10],
        [B, KICK_KEEPALIVE_SECONDS],
      ],
      [[B, 0]],
    ]);
    expect(plans.every((p) => p.add.length === 0 && p.remove.length === 0)).toBe(true);
    expect(plans.flatMap((p) => p.update).every((u) => u.replaceAllowedIps === false && !u.allowedIps)).toBe(
      true,
    );
  });

  it("writes only what is needed", () => {
    expect(handshakeKickPlans([])).toEqual([]);
    expect(handshakeKickPlans([{ publicKey: A, persistentKeepalive: 25 }]).map(keepalives)).toEqual([
      [[A, 0]],
      [[A, 25]],
    ]);
    expect(handshakeKickPlans([{ publicKey: B, persistentKeepalive: 0 }]).map(keepalives)).toEqual([
      [[B, KICK_KEEPALIVE_SECONDS]],
      [[B, 0]],
    ]);
  });
});
