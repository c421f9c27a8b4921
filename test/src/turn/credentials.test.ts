import { describe, expect, it } from "vitest";
import { iceServersFor, turnPassword, turnUsername } from "../../../src/turn/index.js";

describe("turnPassword", () => {
  it("is base64 HMAC-SHA1 of the username under the secret (as `openssl dgst -sha1 -hmac` computes it)", () => {
    expect(turnPassword("north", "1433895918:gorst")).toBe("Jkoq/bR7DWfoH9c0tHZx2FEf1SM=");
  });
});

describe("iceServersFor", () => {
  const nowMs = 1_700_000_000_500;
  const base = { secret: "s3cret-s3cret-s3cret", ttlSeconds: 600, userId: "node-1", nowMs };

  it("gives STUN urls bare and TURN urls a credential expiring ttl seconds from now (whole seconds)", () => {
    const made = iceServersFor({
      ...base,
      urls: ["stun:a.example:3478", "turn:a.example:3478?transport=udp", "turns:a.example:5349"],
    });
    const username = turnUsername(1_700_000_600, "node-1");
    expect(username).toBe("1700000600:node-1");
    expect(made).toEqual({
      expiresAt: 1_700_000_600,
      iceServers: [
        { urls: ["stun:a.example:3478"] },
        {
          urls: ["turn:a.example:3478?transport=udp", "turns:a.example:5349"],
          username,
          credential: turnPassword(base.secret, username),
          ttl: 600,
        },
      ],
    });
  });

  it("gives STUN alone when no TURN url is named", () => {
    expect(iceServersFor({ ...base, urls: ["stun:a.example:3478"], secret: undefined })).toEqual({
      expiresAt: null,
      iceServers: [{ urls: ["stun:a.example:3478"] }],
    });
  });
});
