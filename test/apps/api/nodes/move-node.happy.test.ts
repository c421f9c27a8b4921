import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Json } from "../../../support/http.js";
import { json } from "../../../support/http.js";
import { createNetwork, createNode } from "../../../support/mesh.js";
import type { TestPlatform } from "../../../support/platform.js";
import { createTestPlatform } from "../../../support/platform.js";

describe("moving a node to another address", () => {
  let t: TestPlatform;
  beforeAll(async () => {
    t = await createTestPlatform();
  });
  afterAll(async () => {
    await t.close();
  });

  const move = (id: string, body: Record<string, unknown>) =>
    t.request(`/api/v1/nodes/${id}`, { method: "PATCH", body });
  const node = async (id: string) => (await json(await t.request(`/api/v1/nodes/${id}`))).data;
  const config = async (id: string) => (await t.request(`/api/v1/nodes/${id}/config`)).text();

  it("moves a mesh node: its config and every other node's config name the new address, none the old", async () => {
    const net = await createNetwork(t, { topology: "mesh", cidr4: "10.81.0.0/24", cidr6: "fd81::/64" });
    const [a, b, c] = [
      await createNode(t, net.id, { name: "a" }),
      await createNode(t, net.id, { name: "b" }),
      await createNode(t, net.id, { name: "c" }),
    ];
    expect(a.node.ip4).toBe("10.81.0.2");
    const versionsBefore = await Promise.all(
      [a, b, c].map(async (n: Json) => (await node(n.node.id)).configVersion),
    );

    const res = await move(a.node.id, { ip4: "10.81.0.200", ip6: "FD81:0::C8" });
    const body = await json(res);
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.data).toMatchObject({ ip4: "10.81.0.200", ip6: "fd81::c8" });

    const versionsAfter = await Promise.all(
      [a, b, c].map(async (n: Json) => (await node(n.node.id)).configVersion),
    );
    expect(versionsAfter).toEqual(versionsBefore.map((v: number) => v + 1));
    expect(await config(a.node.id)).toMatch(/^Address = 10\.81\.0\.200\/24, fd81::c8\/64$/m);
    for (const other of [b, c]) {
      const text = await config(other.node.id);
      expect(text).toContain("10.81.0.200/32");
      expect(text).toContain("fd81::c8/128");
      expect(text).not.toContain("10.81.0.2/32");
      expect(text).not.toContain("fd81::2/128");
    }
    // The freed address goes to the next node.
    expect((await createNode(t, net.id, { name: "d" })).node.ip4).toBe("10.81.0.2");
  });

  it("moves a hub node: only its own config changes version", async () => {
    const net = await createNetwork(t, { cidr4: "10.82.0.0/24" });
    const a = await createNode(t, net.id, { name: "a" });
    const b = await createNode(t, net.id, { name: "b" });
    const [va, vb] = [(await node(a.node.id)).configVersion, (await node(b.node.id)).configVersion];
    expect((await move(a.node.id, { ip4: "10.82.0.77" })).status).toBe(200);
    expect((await node(a.node.id)).configVersion).toBe(va + 1);
    expect((await node(b.node.id)).configVersion).toBe(vb);
    expect(await config(a.node.id)).toMatch(/^Address = 10\.82\.0\.77\/24$/m);
    // Moving to the address it has is no change.
    expect((await move(a.node.id, { ip4: "10.82.0.77" })).status).toBe(200);
    expect((await node(a.node.id)).configVersion).toBe(va + 1);
  });

  it("races enrollments without ever giving one address twice", async () => {
    const net = await createNetwork(t, { cidr4: "10.83.0.0/24" });
    const mover = await createNode(t, net.id, { name: "mover" });
    // The next free addresses are .3 upward: the move asks for .5 while eight enrollments allocate.
    const [moved, ...enrolled] = await Promise.all([
      move(mover.node.id, { ip4: "10.83.0.5" }),
      ...Array.from({ length: 8 }, (_, i) =>
        t.request("/api/v1/nodes", { method: "POST", body: { networkId: net.id, name: `racer-${i}` } }),
      ),
    ]);
    expect(enrolled.map((r) => r.status)).toEqual(Array(8).fill(201));
    expect([200, 409]).toContain(moved!.status);
    const list = (await json(await t.request(`/api/v1/nodes?networkId=${net.id}&limit=100`))).data;
    const addresses = list.items.map((n: Json) => n.ip4);
    expect(addresses).toHaveLength(9);
    expect(new Set(addresses).size).toBe(9);
    expect((await node(mover.node.id)).ip4).toBe(moved!.status === 200 ? "10.83.0.5" : "10.83.0.2");
  });
});
