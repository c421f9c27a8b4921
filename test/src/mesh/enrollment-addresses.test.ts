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

  it("keeps a committed claim's addresses for the reads begun before its commit, and forgets them once those end", () => {
    const claims = createAddressClaims();
    const before = claims.beginRead();
    const a = claims.session();
    a.claim("net1", ["10.0.0.2", "fd00::2"]);
    a.committed();
    expect(claims.claimedIn("net1")).toEqual([]);
    // A read begun before the commit may have missed it; one begun after it has not.
    expect(claims.committedSince("net1", before)).toEqual(["10.0.0.2", "fd00::2"]);
    expect(claims.committedSince("net2", before)).toEqual([]);
    const after = claims.beginRead();
    expect(claims.committedSince("net1", after)).toEqual([]);
    // A rolled-back claim (plain release) is never kept.
    const b = claims.session();
    b.claim("net1", ["10.0.0.3"]);
    b.release();
    expect(claims.committedSince("net1", before)).toEqual(["10.0.0.2", "fd00::2"]);
    claims.endRead(before);
    expect(claims.committedSince("net1", before)).toEqual([]);
    claims.endRead(after);
    // With no read in flight, a commit keeps nothing.
    const c = claims.session();
    c.claim("net1", ["10.0.0.4"]);
    c.committed();
    expect(claims.committedSince("net1", -1)).toEqual([]);
  });
});
