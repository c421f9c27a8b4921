import { describe, expect, it } from "vitest";
import { peersSet } from "./lab.js";

const hexOf = (b64: string) => Buffer.from(b64, "base64").toString("hex");
const A = Buffer.alloc(32, 1).toString("base64");
const B = Buffer.alloc(32, 2).toString("base64");
const C = Buffer.alloc(32, 3).toString("base64");

describe("peersSet (what a userspace-API set puts on the interface)", () => {
  it("names every peer a set adds or updates, as base64 keys, and none it removes", () => {
    const request = [
      "set=1",
      "replace_peers=false",
      `public_key=${hexOf(A)}`,
      "replace_allowed_ips=true",
      "allowed_ip=10.0.0.2/32",
      `public_key=${hexOf(B)}`,
      "remove=true",
      `public_key=${hexOf(C)}`,
      "allowed_ip=10.0.0.4/32",
      "",
      "",
    ].join("\n");
    expect(peersSet(request)).toEqual([A, C]);
  });

  it("names nothing for a set of interface settings alone or of removals alone", () => {
    expect(peersSet("set=1\nlisten_port=51820\n\n")).toEqual([]);
    expect(peersSet(`set=1\npublic_key=${hexOf(A)}\nremove=true\n\n`)).toEqual([]);
  });

  it("names the last peer of a set too", () => {
    expect(peersSet(`set=1\npublic_key=${hexOf(B)}\n\n`)).toEqual([B]);
  });
});
