// The hub's JSON API from the browser: same-origin fetch with the session cookie and the
// `X-MZPanel-Request: 1` header every cookie-authenticated change needs (docs/api.md). Errors
// come back from the hub as {"error": {"code", "message", "field"}}; they are thrown as APIError
// with those members and the HTTP status, so a form can put the message next to `field`.

/** An error answered by the hub (or a failure to reach it: status 0). */
export class APIError extends Error {
  constructor(message, { status = 0, code = null, field = null } = {}) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/** Messages for answers that carry no JSON error of their own. */
function fallbackMessage(status) {
  if (status === 401) return "your session has ended; log in again (the page keeps what you typed until you reload it)";
  if (status === 403) return "the hub refused this request; reload the page and try again";
  if (status === 404) return "not found";
  if (status === 413) return "the request is too large";
  if (status >= 500) return `the hub had a problem (HTTP ${status}); try again in a moment`;
  return `the hub answered HTTP ${status}`;
}

/**
 * Calls the hub's JSON API. `path` is absolute (`/api/v1/…`); `body` (optional) is sent as JSON.
 * Returns the parsed JSON answer (null for an empty one). Throws APIError with `.status`,
 * `.code` and `.field` (null when the hub names no field).
 */
export async function api(method, path, body) {
  const headers = { Accept: "application/json", "X-MZPanel-Request": "1" };
  const init = { method: method.toUpperCase(), headers, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new APIError("the hub cannot be reached; check the connection and try again", { status: 0, code: "network" });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = data && typeof data === "object" && data.error && typeof data.error === "object" ? data.error : {};
    throw new APIError(typeof error.message === "string" && error.message ? error.message : fallbackMessage(response.status), {
      status: response.status,
      code: typeof error.code === "string" ? error.code : null,
      field: typeof error.field === "string" && error.field ? error.field : null,
    });
  }
  if (text && data === null) {
    throw new APIError("the hub's answer is not JSON", { status: response.status, code: "bad_response" });
  }
  return data;
}
