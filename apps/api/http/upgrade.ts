/**
 * Which requests are WebSocket upgrades made by the server's own upgrade hook (`../relay.ts`), and
 * what a route admitted for each. A client cannot make a request one: only the hook holds the
 * `Request` objects it registers.
 */

const upgrades = new WeakMap<Request, { nodeId?: string }>();

/** Registers `request` as an upgrade; the returned slot holds the node a route admits. */
export function registerUpgrade(request: Request): { nodeId?: string } {
  const slot: { nodeId?: string } = {};
  upgrades.set(request, slot);
  return slot;
}

/**
 * Called by a route once its guard passed: true when `request` is an upgrade made by the hook (the
 * node is then admitted), false for a plain HTTP request.
 */
export function admitUpgrade(request: Request, nodeId: string): boolean {
  const slot = upgrades.get(request);
  if (!slot) return false;
  slot.nodeId = nodeId;
  return true;
}
