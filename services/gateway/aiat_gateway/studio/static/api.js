// The studio's only way to the server: the public REST API, the key sent as a header (no cookies).
const KEY = "aiat.apiKey";

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
}

export const auth = {
  get key() { return sessionStorage.getItem(KEY) || ""; },
  set key(value) { value ? sessionStorage.setItem(KEY, value) : sessionStorage.removeItem(KEY); },
};

let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

function headers(extra = {}) {
  const h = { ...extra };
  if (auth.key) h.Authorization = `Bearer ${auth.key}`;
  return h;
}

async function detailOf(response) {
  const text = await response.text();
  try {
    const body = JSON.parse(text);
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail ?? body);
  } catch {
    return text || `${response.status} ${response.statusText}`;
  }
}

/** A JSON (or text, for `as: "text"`) request; throws ApiError with the server's own message. */
export async function api(path, { method = "GET", body, as = "json", signal } = {}) {
  const init = { method, signal, headers: headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = body instanceof FormData ? body : JSON.stringify(body);
  if (body instanceof FormData) delete init.headers["Content-Type"];
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The server cannot be reached; check the connection and try again");
  }
  if (!response.ok) {
    const error = new ApiError(response.status, await detailOf(response));
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  if (as === "text") return response.text();
  if (as === "blob") return response.blob();
  return response.json();
}

/** POST a FormData with upload progress (fetch has none): `onProgress(fraction)`; the JSON answer or ApiError. */
export function upload(path, form, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", path);
    for (const [k, v] of Object.entries(headers())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", async () => {
      const response = new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText });
      if (xhr.status >= 200 && xhr.status < 300) { resolve(await response.json()); return; }
      const error = new ApiError(xhr.status, await detailOf(response));
      if (xhr.status === 401) onUnauthorized(error);
      reject(error);
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "The server cannot be reached; check the connection and try again")));
    xhr.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
    xhr.send(form);
  });
}

/** The public OpenAPI schema: what the server offers, and whether it asks for a key. */
let schema;
async function openapi() {
  try {
    schema ??= await fetch("/openapi.json").then((r) => (r.ok ? r.json() : { paths: {} }));
  } catch {
    schema = { paths: {} };
  }
  return schema;
}

export async function hasOperation(path, method) {
  return Boolean((await openapi()).paths?.[path]?.[method]);
}

/** The schema declares security only when API keys are on. */
export async function needsKey() {
  return Object.keys((await openapi()).components?.securitySchemes ?? {}).length > 0;
}

/** Signed, short-lived URLs for media a <video> element or a link loads without a header. */
const signed = new Map(); // path -> {url, until}
export async function mediaUrls(paths) {
  const now = Date.now();
  const missing = paths.filter((p) => !(signed.get(p)?.until > now + 60_000));
  if (missing.length) {
    const out = await api("/api/v1/media-urls", { method: "POST", body: { paths: missing } });
    const until = Date.parse(out.expires_at);
    for (const [path, url] of Object.entries(out.urls)) signed.set(path, { url, until });
  }
  return Object.fromEntries(paths.map((p) => [p, signed.get(p).url]));
}
export function forgetMediaUrls() { signed.clear(); }

/** Save a response body as a file, with the key sent as a header. */
export async function download(path, filename) {
  const blob = await api(path, { as: "blob" });
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
