/**
 * The agent's side of the API: register with an enrollment key, fetch the node's config, send
 * heartbeats and follow config announcements (server-sent events). Authenticates with the node's own
 * token only; never sends the node's private key anywhere.
 */

export interface Registration {
  nodeId: string;
  token: string;
  ip4: string;
}

export interface AgentApi {
  register(enrollmentKey: string, body: Record<string, unknown>): Promise<Registration>;
  /** The node's wg-quick config and its version. */
  fetchConfig(nodeId: string, token: string): Promise<{ text: string; version: number }>;
  /** `rotateKey`: an operator asked this node to rotate its key. */
  heartbeat(
    nodeId: string,
    token: string,
    body: Record<string, unknown>,
  ): Promise<{ configVersion: number; rotateKey?: boolean }>;
  /**
   * Moves the node to a new public key, with the proof of its current key (`signKeyRotation`);
   * resolves once the server holds it (`hubApplied`: the hub's interface does too).
   */
  rotateKey(nodeId: string, token: string, body: { publicKey: string; proof: string }): Promise<KeyRotated>;
  /** Calls `onVersion` for each announced config version until `signal` aborts or the stream ends. */
  follow(
    nodeId: string,
    token: string,
    onVersion: (version: number) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

export interface KeyRotated {
  publicKey: string;
  configVersion: number;
  hubApplied: boolean;
}

export class AgentApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "AgentApiError";
  }
}

async function problem(res: Response, what: string): Promise<AgentApiError> {
  let detail = res.statusText;
  try {
    const body = (await res.json()) as { detail?: string; error?: { message?: string } };
    detail = body.detail ?? body.error?.message ?? detail;
  } catch {
    // Not a problem body.
  }
  return new AgentApiError(`${what}: ${res.status} ${detail}`, res.status);
}

/** Parses a server-sent event stream, calling `onEvent(event, data)` for each complete event. */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (event: string, data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(event, data.join("\n"));
      end = buffer.indexOf("\n\n");
    }
  }
}

export function httpAgentApi(baseUrl: string): AgentApi {
  const auth = (token: string) => ({ Authorization: `Bearer ${token}` });
  return {
    async register(enrollmentKey, body) {
      const res = await fetch(`${baseUrl}/api/v1/nodes/register`, {
        method: "POST",
        headers: { ...auth(enrollmentKey), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw await problem(res, "registering");
      const { data } = (await res.json()) as { data: { node: { id: string; ip4: string }; token: string } };
      return { nodeId: data.node.id, token: data.token, ip4: data.node.ip4 };
    },
    async fetchConfig(nodeId, token) {
      const res = await fetch(`${baseUrl}/api/v1/nodes/${nodeId}/config`, { headers: auth(token) });
      if (!res.ok) throw await problem(res, "fetching the config");
      return { text: await res.text(), version: Number(res.headers.get("x-config-version") ?? 0) };
    },
    async heartbeat(nodeId, token, body) {
      const res = await fetch(`${baseUrl}/api/v1/nodes/${nodeId}/heartbeat`, {
        method: "POST",
        headers: { ...auth(token), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw await problem(res, "sending a heartbeat");
      return ((await res.json()) as { data: { configVersion: number; rotateKey?: boolean } }).data;
    },
    async rotateKey(nodeId, token, body) {
      const res = await fetch(`${baseUrl}/api/v1/nodes/${nodeId}/key`, {
        method: "POST",
        headers: { ...auth(token), "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw await problem(res, "rotating the node's key");
      return ((await res.json()) as { data: KeyRotated }).data;
    },
    async follow(nodeId, token, onVersion, signal) {
      const res = await fetch(`${baseUrl}/api/v1/nodes/${nodeId}/config/stream`, {
        headers: { ...auth(token), Accept: "text/event-stream" },
        signal,
      });
      if (!res.ok || !res.body) throw await problem(res, "following config announcements");
      await readEvents(res.body, (event, data) => {
        if (event !== "config") return;
        const version = Number((JSON.parse(data) as { version?: unknown }).version);
        if (Number.isInteger(version)) onVersion(version);
      });
    },
  };
}
