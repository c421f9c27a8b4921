/** Reading responses in tests. */

// biome-ignore lint/suspicious/noExplicitAny: assertions walk arbitrary JSON bodies
export type Json = any;

export async function json(res: Response): Promise<Json> {
  return (await res.json()) as Json;
}
