/**
 * Talking to the API from the page. Same origin, so the HttpOnly session cookie goes with every call
 * and no script ever holds a key or token. Failures become `ApiError`s carrying the problem's
 * `detail`; a 401 also tells the app that the session is over.
 */

export class ApiError extends Error {
  constructor(status, code, detail, details) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.detail = detail;
    /** The problem's `error.details`: validation issues, or facts such as a node count. */
    this.details = details ?? {};
    this.issues = Array.isArray(details?.issues) ? details.issues : [];
    /** True when this 401 sent the app back to sign-in; callers then show nothing themselves. */
    this.endedSession = false;
  }
}

let onUnauthenticated = () => {};

/** Sets what happens when a call answers 401 (the session expired or was never there). */
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

async function problemOf(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const detail =
    body?.detail ??
    body?.error?.message ??
    `The server answered ${res.status} ${res.statusText || ""}`.trim();
  return new ApiError(res.status, body?.code ?? `HTTP_${res.status}`, detail, body?.error?.details);
}

/**
 * Calls the API. Returns the envelope's `data` (or the whole body when there is none), or a Blob or
 * text with `as`. Throws `ApiError` for any non-2xx answer and for a network failure. A 401 ends the
 * session (back to sign-in) unless `quiet401`: sign-in itself, and the first look at who is signed in.
 */
export async function api(path, { method = "GET", body, as = "json", signal, quiet401 = false } = {}) {
  const headers = { Accept: as === "json" ? "application/json" : "*/*" };
  const init = { method, headers, credentials: "same-origin", signal, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", "The server cannot be reached. Check that wiresync is running.");
  }
  if (!res.ok) {
    const err = await problemOf(res);
    if (res.status === 401 && !quiet401) {
      err.endedSession = true;
      onUnauthenticated(err);
    }
    throw err;
  }
  if (as === "blob") return res.blob();
  if (as === "text") return res.text();
  const json = await res.json();
  return json && typeof json === "object" && "data" in json ? json.data : json;
}

/** Builds a query string from the defined values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
