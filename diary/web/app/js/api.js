// The JSON API of this same origin. The device token lives in IndexedDB and travels only in
// the Authorization header: never in a URL, never in a cookie.

import { getMeta } from "./db.js";

export const BASE = new URL("../api/v1", document.baseURI).pathname;

/** The network could not be reached (offline, server down): try again later. */
export class Offline extends Error {}

/** The server answered with an error; `body` is its {code, status, message, errors}. */
export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

const listeners = { online: [], signedOut: [] };
export function on(event, fn) {
  listeners[event].push(fn);
}
const emit = (event, arg) => listeners[event].forEach((fn) => fn(arg));

/** Call the API; resolves with the parsed body (null for 204), rejects with Offline or ApiError. */
export async function call(method, path, body, { token } = {}) {
  const headers = { Accept: "application/json" };
  const auth = token === undefined ? await getMeta("token") : token;
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch (err) {
    emit("online", false);
    throw new Offline(err.message);
  }
  emit("online", true);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && auth) emit("signedOut");
    throw new ApiError(response.status, data);
  }
  return data;
}
