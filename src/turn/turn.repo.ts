/** Drizzle queries of TURN: whether a node exists. The executor comes first. */
import { eq } from "drizzle-orm";
import type { Executor } from "../db/index.js";
import { nodes } from "../db/index.js";

export async function nodeExists(exec: Executor, id: string): Promise<boolean> {
  const [node] = await exec.select({ id: nodes.id }).from(nodes).where(eq(nodes.id, id));
  return node !== undefined;
}
