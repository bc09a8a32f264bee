// api.js — the console's only way to the server: weir's public API, with the token the user
// signed in with as `Authorization: Bearer …`. The token lives in memory and in this tab's
// sessionStorage (so a reload keeps the session, closing the tab ends it); it is never put in
// a URL or a cookie, nor in localStorage, which would outlive the tab.

const KEY = "weir-console";

let session = null; // { token, role: "admin" | "env", envId? }

export function loadSession() {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    if (v && typeof v.token === "string" && (v.role === "admin" || v.role === "env")) session = v;
  } catch {
    session = null;
  }
  return session;
}

export function currentSession() {
  return session;
}

export function setSession(v) {
  session = v;
  if (v) sessionStorage.setItem(KEY, JSON.stringify(v));
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

function messageOf(status, data, text) {
  if (data && typeof data === "object") {
    if (typeof data.message === "string") return data.message;
    if (typeof data.error === "string") return data.error;
  }
  if (text && text.length < 300) return text;
  return `HTTP ${status}`;
}

/** Builds the request headers: the token, JSON, and S2's basin header when given. */
export function headers({ token = session?.token, basin, json, extra } = {}) {
  const h = { authorization: `Bearer ${token}` };
  if (json) h["content-type"] = "application/json";
  if (basin) h["s2-basin"] = basin;
  return { ...h, ...extra };
}

/**
 * Calls the API; resolves to the parsed JSON answer (null for an empty one) or throws ApiError
 * with the server's message. Status 0 means the server could not be reached.
 */
export async function api(path, { method = "GET", body, basin, signal, token, extra } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: headers({ token, basin, json: body !== undefined, extra }),
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
      cache: "no-store",
      credentials: "omit",
    });
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new ApiError(0, `Cannot reach the server (${e.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, data, text), data);
  return data;
}

/** Percent-encodes one path segment (stream names may contain "/"). */
export const seg = (v) => encodeURIComponent(v);

/**
 * Finds out what a token is: the root token (admin), an environment's secret key (env), or
 * neither (throws ApiError 401/403 with a message meant for the sign-in form).
 */
export async function identify(token) {
  const probe = (path, method = "GET") =>
    fetch(path, { method, headers: headers({ token }), cache: "no-store", credentials: "omit" });
  let admin = null;
  try {
    if (!token.startsWith("sk_")) {
      admin = await probe("/admin/api/v1/plans");
      if (admin.ok) return { token, role: "admin" };
    }
    const env = await probe("/api/v1/sessions?page[size]=1");
    if (env.ok) {
      const claims = await probe("/api/v1/auth/jwt/claims", "POST");
      const sub = claims.ok ? (await claims.json()).sub : null;
      return { token, role: "env", envId: typeof sub === "string" ? sub : null };
    }
    if (admin?.status === 403)
      throw new ApiError(403, "This token is valid, but it is neither the root token nor an environment secret key.");
    if (env.status === 401 || admin?.status === 401)
      throw new ApiError(401, "Wrong token: the server accepts it neither as the root token nor as an environment secret key.");
    throw new ApiError(env.status, `The server answered ${env.status}.`);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError(0, `Cannot reach the server (${e.message})`);
  }
}
