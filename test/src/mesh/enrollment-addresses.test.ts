import { describe, expect, it } from "vitest";
import { createAddressClaims } from "../../../src/mesh/enrollment-addresses.js";

describe("address claims of enrollments in flight", () => {
  it("lists what sessions hold per network, and drops a session's claim when it claims again or releases", () => {
    const claims = createAddressClaims();
    const a = claims.session();
    const b = claims.session();
    a.claim("net1", ["10.0.0.2", "fd00::2"]);
    b.claim("net1", ["10.0.0.3"]);
    b.claim("net2", ["10.1.0.2"]); // a retried attempt elsewhere: its claim in net1 is gone
    expect(claims.claimedIn("net1")).toEqual(["10.0.0.2", "fd00::2"]);
    expect(claims.claimedIn("net2")).toEqual(["10.1.0.2"]);
    a.release();
    a.release(); // twice is harmless
    expect(claims.claimedIn("net1")).toEqual([]);
    b.release();
    expect(claims.claimedIn("net2")).toEqual([]);
  });

  it("settles a network once every claim held at the time is released, not before", async () => {
    const claims = createAddressClaims();
    const a = claims.session();
    const b = claims.session();
    a.claim("net1", ["10.0.0.2"]);
    b.claim("net1", ["10.0.0.3"]);
    let settled = false;
    const waiting = claims.settled("net1").then(() => {
      settled = true;
    });
    a.release();
    await Promise.resolve();
    await Promise.resolve();
    expect(settled).toBe(false);
    b.release();
    await waiting;
    expect(settled).toBe(true);
    await claims.settled("net-without-claims"); // resolves at once
  });
});
