/**
 * Who is calling, as far as the network can tell: the client's address and whether its browser
 * reached us over https. Behind a reverse proxy the socket's peer is the proxy, so the forwarding
 * headers are read, but only as far as `TRUST_PROXY` trusts the peers that wrote them: anyone can
 * send `X-Forwarded-For`.
 */
import { BlockList, isIP } from "node:net";
import type { Context } from "hono";
import type { TrustProxy } from "../../../src/config.js";
import type { AppEnv } from "../env.js";

export interface ClientInfo {
  /** The client's IP address; undefined when the server does not know it (in-process requests). */
  address: string | undefined;
  /** True when the browser reached wiresync over https (directly, by `PUBLIC_URL`, or per a trusted proxy). */
  https: boolean;
}

/** A compiled `TrustProxy`: says whether a peer's forwarding headers count. */
export interface ProxyTrust {
  readonly policy: TrustProxy;
  /**
   * True when `address`, met `hop` steps back from the socket (0: the socket peer itself), is a
   * proxy whose `X-Forwarded-*` entries count.
   */
  isTrusted(address: string, hop: number): boolean;
}

/** Compiles `TRUST_PROXY` once (CIDR lists become a `BlockList`). */
export function proxyTrust(policy: TrustProxy): ProxyTrust {
  if (policy.kind === "ranges") {
    const list = new BlockList();
    for (const range of policy.ranges) {
      const [address, bits] = range.split("/") as [string, string | undefined];
      const type = isIP(address) === 6 ? "ipv6" : "ipv4";
      if (bits === undefined) list.addAddress(address, type);
      else list.addSubnet(address, Number(bits), type);
    }
    return {
      policy,
      isTrusted: (address) => {
        const type = isIP(address) === 6 ? "ipv6" : "ipv4";
        return isIP(address) !== 0 && list.check(address, type);
      },
    };
  }
  const hops = policy.kind === "hops" ? policy.hops : 0;
  return { policy, isTrusted: (_address, hop) => hop < hops };
}

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) as `192.0.2.1`. */
export function normalizeAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/**
 * The client's address: the socket peer, or, while the peer is a trusted proxy, the entry it
 * appended to `X-Forwarded-For` (walking from the right). A malformed entry stops the walk at the
 * proxy that passed it on. Pure.
 */
export function resolveClientAddress(
  peer: string | undefined,
  forwardedFor: string | undefined,
  trust: ProxyTrust,
): string | undefined {
  if (peer === undefined) return undefined;
  let address = normalizeAddress(peer);
  const chain = (forwardedFor ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (let hop = 0; chain.length > 0 && trust.isTrusted(address, hop); hop++) {
    const next = normalizeAddress(chain.pop()!);
    if (isIP(next) === 0) break;
    address = next;
  }
  return address;
}

/**
 * True when a trusted proxy says the browser used https: `X-Forwarded-Proto` counts only from a
 * trusted socket peer, and only its last value (the one that proxy wrote). Pure.
 */
export function forwardedHttps(
  peer: string | undefined,
  forwardedProto: string | undefined,
  trust: ProxyTrust,
) {
  if (peer === undefined || forwardedProto === undefined) return false;
  if (!trust.isTrusted(normalizeAddress(peer), 0)) return false;
  return forwardedProto.split(",").at(-1)?.trim().toLowerCase() === "https";
}

/** The socket's peer address under @hono/node-server; undefined for in-process `app.request`. */
function socketPeer(env: unknown): string | undefined {
  const incoming = (env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress;
}

/** Sets `c.var.client`, for every request. `publicUrl` on https means every browser comes over https. */
export function identifyClient(
  trust: ProxyTrust,
  publicUrl: string | undefined,
): (c: Context<AppEnv>) => void {
  const publicHttps = publicUrl?.startsWith("https:") ?? false;
  return (c) => {
    const peer = socketPeer(c.env);
    c.set("client", {
      address: resolveClientAddress(peer, c.req.header("x-forwarded-for"), trust),
      https:
        publicHttps ||
        c.req.url.startsWith("https:") ||
        forwardedHttps(peer, c.req.header("x-forwarded-proto"), trust),
    });
  };
}
