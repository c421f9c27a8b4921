/**
 * Making an interface shake hands with its peers at once, e.g. after its private key changed (a hub
 * key rotation): wireguard-go and the kernel send a keepalive when a peer's persistent keepalive is
 * turned on from off, and a keepalive with no session starts a handshake. Pure: it only builds plans.
 */
import type { CheckedPlan, PeerUpdate } from "./types.js";
import { checkPlan } from "./validate.js";

/** The keepalive (seconds) a peer whose keepalive is off is kicked with, for a moment. */
export const KICK_KEEPALIVE_SECONDS = 25;

/**
 * The writes, in order, that kick every one of `peers` (as the interface holds them) into a
 * handshake and leave each keepalive as it was: those with a keepalive turn it off, then everyone's
 * turns on (the kick), then those without turn it off again. At most three writes; none for no peers.
 */
export function handshakeKickPlans(
  peers: readonly { publicKey: string; persistentKeepalive: number | null }[],
): CheckedPlan[] {
  const set = (list: typeof peers, seconds: (ka: number) => number, reason: string): CheckedPlan[] => {
    if (list.length === 0) return [];
    const update: PeerUpdate[] = list.map((p) => ({
      publicKey: p.publicKey,
      replaceAllowedIps: false,
      persistentKeepalive: seconds(p.persistentKeepalive ?? 0),
    }));
    return [checkPlan({ add: [], remove: [], update, unexpected: [], reason })];
  };
  const withKeepalive = peers.filter((p) => (p.persistentKeepalive ?? 0) > 0);
  const without = peers.filter((p) => (p.persistentKeepalive ?? 0) === 0);
  return [
    ...set(withKeepalive, () => 0, `keepaliveOff(${withKeepalive.length})`),
    ...set(peers, (ka) => (ka > 0 ? ka : KICK_KEEPALIVE_SECONDS), `handshakeKick(${peers.length})`),
    ...set(without, () => 0, `keepaliveRestore(${without.length})`),
  ];
}
