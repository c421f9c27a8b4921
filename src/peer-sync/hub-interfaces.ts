/**
 * Access to the hub interfaces one worker owns: one open driver per interface, one operation per
 * interface at a time (`exclusive`), the apply throttle (`apply-throttle.ts`) that applies a lone
 * sync at once and coalesces a burst of syncs into few writes, and reading an interface (creating or repairing it first when its key or port is wrong).
 */
import type { InterfaceBinding } from "../config.js";
import type { ConfigService, HubPeerMemo, HubState } from "../mesh/index.js";
import { parseCidr } from "../mesh/index.js";
import type { LinkDrift, WgPort, WgState } from "../wireguard/index.js";
import { WireGuardError } from "../wireguard/index.js";
import { createApplyThrottle } from "./apply-throttle.js";
import type { InterfaceOps } from "./interface-ops.js";

/** The hub's own interface settings (key, port, addresses with prefixes, MTU) from its state. */
export function hubSettings(hub: HubState) {
  const n = hub.network;
  const addresses = [`${n.hubIp4}/${parseCidr(n.cidr4).prefix}`];
  if (n.hubIp6 && n.cidr6) addresses.push(`${n.hubIp6}/${parseCidr(n.cidr6).prefix}`);
  return {
    privateKey: hub.hubPrivateKey,
    listenPort: n.listenPort,
    addresses,
    ...(n.mtu ? { mtu: n.mtu } : {}),
  };
}

export type HubInterfaces = ReturnType<typeof createHubInterfaces>;

/** The interface access of one peer-sync service; `close` releases its drivers (interfaces stay up). */
export function createHubInterfaces(deps: {
  ops: InterfaceOps;
  configs: ConfigService;
  /**
   * The apply throttle's window: a sync finding its interface idle runs at once; syncs arriving while
   * it is busy, or within this long after a coalesced write, coalesce into one trailing sync that
   * runs this long after the last write. 0 turns it off.
   */
  minApplyIntervalMs: number;
  /** Drops what is remembered of an interface's own settings (it was just re-created). */
  forget(iface: string): void;
}) {
  const ports = new Map<string, WgPort & { close?(): void }>();
  const locks = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier operation on the same interface has finished. */
  function exclusive<T>(iface: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(iface) ?? Promise.resolve();
    const next = previous.catch(() => {}).then(fn);
    locks.set(iface, next);
    return next.finally(() => {
      if (locks.get(iface) === next) locks.delete(iface);
    });
  }

  const throttle = createApplyThrottle({
    intervalMs: deps.minApplyIntervalMs,
    isBusy: (iface) => locks.has(iface),
    exclusive,
  });

  function port(binding: InterfaceBinding) {
    let p = ports.get(binding.iface);
    if (!p) {
      p = deps.ops.open(binding);
      ports.set(binding.iface, p);
    }
    return p;
  }

  /**
   * Finishes `reading` (a dump begun while the database was read), creating or repairing the
   * interface first when it is missing or carries another key or port than the database says.
   * What it changed goes to `ensuredNow`, a key or port that differed to `found` (as drift).
   */
  async function readInterface(
    binding: InterfaceBinding,
    hub: HubState,
    reading: Promise<WgState>,
    ensuredNow?: string[],
    found?: LinkDrift[],
  ): Promise<WgState> {
    let actual: WgState;
    try {
      actual = await reading;
    } catch (err) {
      if (!(err instanceof WireGuardError)) throw err;
      const changed = await deps.ops.ensure(binding, hubSettings(hub));
      ensuredNow?.push(...(changed ?? ["interface"]));
      deps.forget(binding.iface);
      ports.get(binding.iface)?.close?.();
      ports.delete(binding.iface);
      return port(binding).dump();
    }
    if (actual.publicKey !== hub.network.hubPublicKey || actual.listenPort !== hub.network.listenPort) {
      if (actual.listenPort !== hub.network.listenPort)
        found?.push({
          field: "listenPort",
          desired: String(hub.network.listenPort),
          actual: String(actual.listenPort),
        });
      if (actual.publicKey !== hub.network.hubPublicKey)
        found?.push({ field: "publicKey", desired: hub.network.hubPublicKey, actual: actual.publicKey });
      const changed = await deps.ops.ensure(binding, hubSettings(hub));
      ensuredNow?.push(...(changed ?? ["interface"]));
      deps.forget(binding.iface);
      actual = await port(binding).dump();
    }
    return actual;
  }

  /**
   * Reads the network's desired state while its interface is read: neither waits for the other (for
   * 10,000 peers each takes tens of milliseconds). The dump is settled by `readInterface`.
   * `hubPeers` is the network's memo of its last read (`ConfigService.hubState`).
   */
  async function loadHub(binding: InterfaceBinding, networkId: string, hubPeers?: HubPeerMemo) {
    let reading: Promise<WgState>;
    try {
      reading = port(binding).dump();
    } catch (err) {
      reading = Promise.reject(err); // a driver that cannot even open: readInterface judges it
    }
    reading.catch(() => {}); // observed by readInterface; this only covers a failing hubState
    return { state: await deps.configs.hubState(networkId, hubPeers), reading };
  }

  return {
    exclusive,
    port,
    readInterface,
    loadHub,
    /**
     * Runs a sync of `iface` under its lock: at once when the interface is idle, else as the trailing
     * sync of a burst, shared by callers of the same `key` (see `apply-throttle.ts`).
     */
    throttled: throttle.run,
    /** Notes that the interface was just written to, by a sync that ran coalesced or not. */
    wrote: throttle.wrote,
    /** Notes that the interface's last write was part of a burst (see `apply-throttle.ts`). */
    burst: throttle.burst,
    /** Releases driver connections (interfaces stay up). */
    close() {
      for (const p of ports.values()) p.close?.();
      ports.clear();
    },
  };
}
