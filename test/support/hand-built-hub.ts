/** Hub interfaces built by hand, as an operator's are before wiresync adopts them (test/e2e/peer-sync/adopt*). */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "vitest";
import type { WgDriver } from "../../src/wireguard/index.js";
import { ensureInterface, openDriver } from "../../src/wireguard/index.js";
import type { Lab } from "./netns.js";

/**
 * Brings up wireguard-go `hub.iface` in `hub.ns` with the key, port and address given, then loads
 * `peers` (`[Peer]` sections only: `wg addconf` takes no wg-quick keys such as Address) with
 * `wg addconf` from a file, as an operator's wg0.conf is (`/dev/stdin` is a socket under Node, which
 * `wg` cannot open). Expects `peerCount` peers on it; returns a driver on it for the caller to close.
 */
export async function handBuiltHub(
  lab: Lab,
  hub: { ns: string; iface: string; privateKey: string; listenPort: number; address: string },
  peers: string,
  peerCount: number,
): Promise<WgDriver> {
  await ensureInterface({
    name: hub.iface,
    privateKey: hub.privateKey,
    listenPort: hub.listenPort,
    addresses: [hub.address],
    netns: hub.ns,
  });
  const dir = await mkdtemp(path.join(tmpdir(), "wst-hand-built-"));
  try {
    await writeFile(path.join(dir, "peers.conf"), peers, { mode: 0o600 });
    const added = await lab.exec(hub.ns, "wg", ["addconf", hub.iface, path.join(dir, "peers.conf")]);
    expect(added.exitCode, added.stderr).toBe(0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const driver = openDriver(hub.iface, { driver: "auto", netns: hub.ns });
  expect((await driver.dump()).peers).toHaveLength(peerCount);
  return driver;
}
