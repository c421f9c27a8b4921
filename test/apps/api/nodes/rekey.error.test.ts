/**
 * Re-key requests that must be refused with a clear 4xx and change nothing: a bad or replayed proof,
 * a malformed body, a key already used, a node whose key only its owner holds.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { nodes } from "../../../../src/db/index.js";
import { generateKeyPair } from "../../../../src/wireguard/index.js";
import { json } from "../../../support/http.js";
import { asToken, createNode, insertNodes } from "../../../support/mesh.js";
import { type AgentNode, agentNode, rotation, useRekeySetup } from "../../../support/rekey-support.js";

describe("node re-key errors", () => {
  const s = useRekeySetup();

  const rotate = (node: AgentNode, body: unknown) =>
    s.t.request(`/api/v1/nodes/${node.id}/key`, { method: "POST", ...asToken(node.token), body });
  const nodeView = async (id: string) => (await json(await s.t.request(`/api/v1/nodes/${id}`))).data;

  /** Sends `body`, expects `status` and `code`, and that the node is as it was. */
  async function refused(node: AgentNode, body: unknown, status: number, code: string) {
    const before = await nodeView(node.id);
    const res = await rotate(node, body);
    const problem = await json(res);
    expect(res.status, JSON.stringify(problem)).toBe(status);
    expect(problem.code).toBe(code);
    const after = await nodeView(node.id);
    expect(after.publicKey).toBe(before.publicKey);
    expect(after.configVersion).toBe(before.configVersion);
    expect(after.previousPublicKey).toBe(before.previousPublicKey);
    return problem;
  }

  it("refuses a proof made with another private key (403 NODE_IDENTITY_UNPROVEN)", async () => {
    const node = await agentNode(s.t, s.networkId);
    const body = rotation(node, s.hubPublicKey, generateKeyPair(), generateKeyPair().privateKey);
    const problem = await refused(node, body, 403, "NODE_IDENTITY_UNPROVEN");
    expect(problem.detail).toMatch(/current private key/);
  });

  it("refuses a proof made against another hub's key", async () => {
    const node = await agentNode(s.t, s.networkId);
    const body = rotation(node, generateKeyPair().publicKey, generateKeyPair());
    await refused(node, body, 403, "NODE_IDENTITY_UNPROVEN");
  });

  it("refuses a proof for another new key than the one sent", async () => {
    const node = await agentNode(s.t, s.networkId);
    const body = {
      ...rotation(node, s.hubPublicKey, generateKeyPair()),
      publicKey: generateKeyPair().publicKey,
    };
    await refused(node, body, 403, "NODE_IDENTITY_UNPROVEN");
  });

  it("refuses a replay of an older rotation once the node has moved on", async () => {
    const node = await agentNode(s.t, s.networkId);
    const second = generateKeyPair();
    const first = generateKeyPair();
    const firstBody = rotation(node, s.hubPublicKey, first);
    expect((await rotate(node, firstBody)).status).toBe(200);
    const moved: AgentNode = { ...node, keys: first };
    expect((await rotate(moved, rotation(moved, s.hubPublicKey, second))).status).toBe(200);
    // The first rotation again: its proof names a key that is neither current nor the previous one.
    await refused(node, firstBody, 403, "NODE_IDENTITY_UNPROVEN");
  });

  it("refuses a key this network used before (409 PUBLIC_KEY_TAKEN)", async () => {
    const node = await agentNode(s.t, s.networkId);
    const first = generateKeyPair();
    expect((await rotate(node, rotation(node, s.hubPublicKey, first))).status).toBe(200);
    const moved: AgentNode = { ...node, keys: first };
    await refused(moved, rotation(moved, s.hubPublicKey, node.keys), 409, "PUBLIC_KEY_TAKEN");
  });

  it("refuses the hub's own key and another node's key (409 PUBLIC_KEY_TAKEN)", async () => {
    const node = await agentNode(s.t, s.networkId);
    const other = await agentNode(s.t, s.networkId);
    await refused(
      node,
      rotation(node, s.hubPublicKey, { publicKey: s.hubPublicKey }),
      409,
      "PUBLIC_KEY_TAKEN",
    );
    await refused(node, rotation(node, s.hubPublicKey, other.keys), 409, "PUBLIC_KEY_TAKEN");
  });

  it("refuses the current key as the new one (400)", async () => {
    const node = await agentNode(s.t, s.networkId);
    await refused(node, rotation(node, s.hubPublicKey, node.keys), 400, "VALIDATION_FAILED");
  });

  it.each([
    ["an empty body", {}],
    ["a proof that is not base64 of 32 bytes", { publicKey: generateKeyPair().publicKey, proof: "abc" }],
    [
      "a public key that is not a key",
      { publicKey: "not-a-key", proof: Buffer.alloc(32).toString("base64") },
    ],
    [
      "an unknown field",
      { publicKey: generateKeyPair().publicKey, proof: Buffer.alloc(32).toString("base64"), privateKey: "x" },
    ],
  ])("refuses %s (400)", async (_name, body) => {
    const node = await agentNode(s.t, s.networkId);
    await refused(node, body, 400, "VALIDATION_FAILED");
  });

  it("refuses an agent's rotation of a key the server holds (409 CONFLICT)", async () => {
    const { node, token } = await createNode(s.t, s.networkId);
    const asAgent: AgentNode = { id: node.id, token, keys: generateKeyPair() };
    const res = await rotate(asAgent, rotation(asAgent, s.hubPublicKey, generateKeyPair()));
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe("CONFLICT");
    expect((await nodeView(node.id)).publicKey).toBe(node.publicKey);
  });

  it("refuses an operator's re-key of a node whose key only its owner holds and that has no token for an agent (409)", async () => {
    // As a peer imported from an existing interface is: its key, no token.
    const [publicKey] = await insertNodes(
      s.t.db.database.db,
      s.networkId,
      1,
      s.cidr4.replace(/\.0\/24$/, ".200"),
    );
    const [row] = await s.t.db.database.db.select().from(nodes).where(eq(nodes.publicKey, publicKey!));
    const node = row!;
    const res = await s.t.request(`/api/v1/nodes/${node.id}/rekey`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await json(res)).detail).toMatch(/PATCH/);
    expect((await nodeView(node.id)).keyRotationRequestedAt).toBeNull();
  });

  it("answers 404 for an unknown node and 400 for a malformed id", async () => {
    const missing = await s.t.request("/api/v1/nodes/00000000-0000-4000-8000-000000000000/rekey", {
      method: "POST",
    });
    expect(missing.status).toBe(404);
    expect((await s.t.request("/api/v1/nodes/nope/rekey", { method: "POST" })).status).toBe(400);
  });
});
