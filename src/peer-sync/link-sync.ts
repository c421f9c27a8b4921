/**
 * The hub interface's own settings and forwarding, kept in step with the database alongside its
 * peers: addresses, MTU and routes to subnets behind nodes (planned by the pure `planLink`), and
 * forwarding between its peers. Remembers per interface what it last applied, so a trigger for an
 * unchanged network costs no reads of the link. Callers hold the interface's lock.
 */
import type { InterfaceBinding } from "../config.js";
import type { HubState } from "../mesh/index.js";
import type { ForwardingStatus, LinkDrift } from "../wireguard/index.js";
import { isEmptyLinkPlan, planLink, RouteMemo, routesFor } from "../wireguard/index.js";
import type { ForwardingBoard } from "./forwarding-board.js";
import type { InterfaceOps } from "./interface-ops.js";

/** One short phrase per difference, for sync notes and logs (`mtu 1420→1380`, `route +10.1.0.0/24`). */
export const describeLinkDrift = (d: LinkDrift) =>
  d.field === "mtu" || d.field === "listenPort"
    ? `${d.field} ${d.actual}→${d.desired}`
    : d.field === "publicKey"
      ? "key replaced"
      : `${d.field} ${d.desired === null ? `-${d.actual}` : `+${d.desired}`}`;

export interface LinkOutcome {
  /** How the settings differed before (also when nothing was applied). */
  drift: LinkDrift[];
  /** What was changed, for logs. */
  changed: string[];
  /** Forwarding as last ensured or read; null where the ops cannot tell (fakes). */
  forwarding: ForwardingStatus | null;
}

export function createLinkSync(deps: {
  ops: InterfaceOps;
  forwardingBoard?: ForwardingBoard;
  /** The hub interface's addresses with their prefixes. */
  addressesOf: (hub: HubState) => string[];
}) {
  /** Per interface: the desired link settings last applied, so a trigger skips an unchanged link. */
  const linkApplied = new Map<string, string>();
  /** Per interface: forwarding as last ensured. */
  const forwardingOf = new Map<string, ForwardingStatus>();
  /** Interfaces re-created or repaired by this process since their link and forwarding were set. */
  const forget = (iface: string) => {
    linkApplied.delete(iface);
    forwardingOf.delete(iface);
  };

  /** Per interface: which allowed ranges its subnets cover, so a sync of 10,000 peers stays cheap. */
  const routeMemos = new Map<string, RouteMemo>();
  const desiredLink = (iface: string, hub: HubState) => {
    const addresses = deps.addressesOf(hub);
    let memo = routeMemos.get(iface);
    if (!memo) {
      memo = new RouteMemo();
      routeMemos.set(iface, memo);
    }
    return {
      addresses,
      mtu: hub.network.mtu ?? null,
      routes: routesFor(
        addresses,
        hub.peers.flatMap((p) => p.allowedIps),
        memo,
      ),
    };
  };

  /**
   * Brings the interface's own settings and forwarding in line with the database. With `all` it
   * reads the link whatever happened before (a reconcile, a drift check); otherwise only when the
   * desired settings changed since they were last applied here (a trigger stays cheap). With
   * `apply` false it only reports.
   */
  async function reconcileLink(
    binding: InterfaceBinding,
    hub: HubState,
    options: { all: boolean; apply: boolean },
  ): Promise<LinkOutcome> {
    const changed: string[] = [];
    let drift: LinkDrift[] = [];
    const desired = desiredLink(binding.iface, hub);
    const key = JSON.stringify(desired);
    if (deps.ops.readLink && (options.all || linkApplied.get(binding.iface) !== key)) {
      const plan = planLink(desired, await deps.ops.readLink(binding));
      drift = plan.drift;
      if (options.apply) {
        if (!isEmptyLinkPlan(plan)) {
          await deps.ops.applyLink?.(binding, plan);
          changed.push(...plan.drift.map(describeLinkDrift));
        }
        linkApplied.set(binding.iface, key);
      }
    }
    let forwarding = forwardingOf.get(binding.iface) ?? null;
    if (deps.ops.forwarding && (options.all || !forwarding)) {
      forwarding = await deps.ops.forwarding(binding, Boolean(hub.network.cidr6), options.apply);
      if (options.apply) {
        forwardingOf.set(binding.iface, forwarding);
        await deps.forwardingBoard?.post(forwarding);
        changed.push(...forwarding.changed.map((c) => `forwarding ${c}`));
      }
    }
    return { drift, changed, forwarding };
  }

  return { reconcile: reconcileLink, forget };
}
