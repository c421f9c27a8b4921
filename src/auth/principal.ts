import type { ApiKeyScope } from "../db/index.js";

/** Who is calling. Scopes decide what they may do: `admin` everything, `read` only reads. */
export type Principal =
  | {
      kind: "user";
      id: string;
      email: string;
      role: "admin" | "user";
      scopes: readonly ApiKeyScope[];
      /** The session version of the token that proved it: "sign out everywhere" and disabling move it on. */
      sessionVersion?: number;
    }
  | { kind: "api-key"; id: string; name: string; scopes: readonly ApiKeyScope[] }
  | { kind: "bootstrap"; id: "bootstrap"; scopes: readonly ApiKeyScope[] }
  | { kind: "node"; id: string; networkId: string; scopes: readonly ApiKeyScope[] };

export const isAdmin = (p: Principal | undefined): boolean => p?.scopes.includes("admin") ?? false;

/** A short, non-secret description of a principal for audit rows and `requested_by`. */
export function describePrincipal(p: Principal): string {
  switch (p.kind) {
    case "user":
      return `user:${p.email}`;
    case "api-key":
      return `api-key:${p.name}`;
    case "bootstrap":
      return "api-key:bootstrap";
    case "node":
      return `node:${p.id}`;
  }
}
