/**
 * How peer sync reaches interfaces (`InterfaceOps`), and the real implementation: the userspace API
 * socket or `wg`, `ensureInterface`, link settings with `ip`, and forwarding between peers.
 */
import type { InterfaceBinding } from "../config.js";
import type { ActualLink, ForwardingMode, ForwardingStatus, LinkPlan, WgPort } from "../wireguard/index.js";
import {
  applyLinkPlan,
  ensureForwarding,
  ensureInterface,
  openDriver,
  readLinkState,
} from "../wireguard/index.js";

/** How the service reaches interfaces: real drivers in production, `FakeWg` in service tests. */
export interface InterfaceOps {
  open(binding: InterfaceBinding): WgPort & { close?(): void };
  /**
   * Creates or repairs the interface itself (key, port, addresses, MTU); peers are untouched.
   * Resolves with what it changed (`created`, `privateKey`, `listenPort`) when it knows.
   */
  ensure(
    binding: InterfaceBinding,
    hub: { privateKey: string; listenPort: number; addresses: string[]; mtu?: number },
  ): Promise<string[] | undefined>;
  /** Reads the interface's own settings (MTU, addresses, wiresync's routes); absent in fakes. */
  readLink?(binding: InterfaceBinding): Promise<ActualLink>;
  /** Applies a plan of the interface's own settings. */
  applyLink?(binding: InterfaceBinding, plan: LinkPlan): Promise<void>;
  /**
   * Forwarding between the interface's peers: turned on (`apply`) or only read back. Never throws
   * for a refusal: the status names the problem.
   */
  forwarding?(binding: InterfaceBinding, ipv6: boolean, apply: boolean): Promise<ForwardingStatus>;
}

/**
 * The real interfaces: the userspace API socket when present (else `wg`), `ensureInterface`, link
 * settings with `ip`, and forwarding per `forwarding` for the interfaces of `bindings` (each
 * namespace's isolation table lists every owned interface in it).
 */
export function realInterfaceOps(
  driver: "auto" | "uapi" | "wg",
  options: { forwarding?: ForwardingMode; bindings?: readonly InterfaceBinding[] } = {},
): InterfaceOps {
  return {
    open: (b) => openDriver(b.iface, { driver, netns: b.netns }),
    async ensure(b, hub) {
      const ensured = await ensureInterface({
        name: b.iface,
        privateKey: hub.privateKey,
        listenPort: hub.listenPort,
        addresses: hub.addresses,
        ...(hub.mtu ? { mtu: hub.mtu } : {}),
        ...(b.netns ? { netns: b.netns } : {}),
      });
      return ensured.changed;
    },
    readLink: (b) => readLinkState(b.iface, b.netns),
    applyLink: (b, plan) => applyLinkPlan(b.iface, b.netns, plan),
    forwarding: (b, ipv6, apply) =>
      ensureForwarding({
        iface: b.iface,
        netns: b.netns,
        owned: [b, ...(options.bindings ?? [])].filter((o) => o.netns === b.netns).map((o) => o.iface),
        ipv6,
        mode: options.forwarding ?? "on",
        readOnly: !apply,
      }),
  };
}
