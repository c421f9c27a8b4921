/**
 * The WireGuard data plane. Owns reading an interface (`dump` → `WgState`), the pure planner that
 * diffs it against the desired peers (`planInterface` → `WgPlan`, `driftReport`), applying a plan in
 * one write through a `WgPort` (the userspace API over its unix socket, or the `wg` tool for kernel
 * interfaces), interface bring-up and removal, and the parsers and serialisers of both wire formats.
 *
 * It must never:
 * - log, return in an error, or put on a command line a private or preshared key (keys travel over
 *   the root-only UAPI socket, on a tool's stdin, or in a 0600 file in a 0700 directory removed at
 *   once; error messages name fields, never key values);
 * - write a value it has not validated and normalised (keys, CIDRs, endpoints, numbers), since a
 *   newline or `=` would inject userspace-API lines;
 * - tear down a peer, or re-set interface keys, to change something else: plans touch only the
 *   fields that differ, so sessions of untouched peers survive;
 * - read the database, the queue or `config`: callers hand it desired peers and options.
 */

export * from "./address.js";
export { MAX_WG_CONF_BYTES, parseWgConf, type WgConf, type WgConfPeer } from "./conf.js";
export { parseWgDump, WgDumpMemo } from "./dump.js";
export { FakeWg } from "./fake.js";
export {
  buildForwardRuleset,
  type EnsureForwardingOptions,
  ensureForwarding,
  type ForwardingMode,
  type ForwardingStatus,
  NFT_TABLE,
  readForwarding,
} from "./forwarding.js";
export { handshakeKickPlans, KICK_KEEPALIVE_SECONDS } from "./handshake-kick.js";
export {
  assertInterfaceName,
  assertNetnsName,
  type EnsuredInterface,
  type EnsureInterfaceOptions,
  ensureInterface,
  findWireguardGo,
  removeInterface,
  startWireguardGo,
  stopWireguardGo,
} from "./interface.js";
export { type KeyRotationClaim, signKeyRotation, verifyKeyRotation } from "./key-proof.js";
export {
  assertWgKey,
  generateKeyPair,
  generatePresharedKey,
  hexToKey,
  isWgKey,
  keyToHex,
  publicKeyOf,
  WG_KEY_PATTERN,
} from "./keys.js";
export { applyLinkPlan, ROUTE_PROTO, readLinkState } from "./link.js";
export {
  type ActualLink,
  cidrWithin,
  type DesiredLink,
  isEmptyLinkPlan,
  type LinkDrift,
  type LinkPlan,
  planLink,
  RouteMemo,
  routesFor,
} from "./link-plan.js";
export { type OpenDriverOptions, openDriver } from "./open-driver.js";
export {
  type Agreement,
  type DesiredSet,
  desiredSet,
  diffInterface,
  driftReport,
  emptyPlan,
  isEmptyPlan,
  mergePlans,
  PlanMemo,
  type PlanOptions,
  planInterface,
} from "./plan.js";
export type * from "./types.js";
export {
  buildUapiDeviceSet,
  buildUapiSet,
  type EndpointResolver,
  parseUapiAnswer,
  parseUapiGet,
  splitUapiResponse,
  uapiStatus,
} from "./uapi.js";
export { UAPI_SOCKET_DIR, UapiDriver, type UapiDriverOptions, uapiSocketPath } from "./uapi-driver.js";
export { UapiPeerMemo } from "./uapi-memo.js";
export { checkPeer, checkPlan } from "./validate.js";
export { WgCliDriver, type WgCliDriverOptions } from "./wg-cli-driver.js";
export { WireGuardError } from "./wireguard.errors.js";
