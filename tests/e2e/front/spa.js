// The smallest single-page app that uses authgate's cookie sessions from another origin.
// It keeps the CSRF token from the X-CSRF-Token response header: a page on another origin
// cannot read the API's csrftoken cookie.
const SHOWN_HEADERS = [
  "X-Process-Time", "X-Request-ID", "X-API-Version", "X-CSRF-Token", "Content-Language",
  "ETag", "Location",
];

class AuthgateClient {
  constructor(api) {
    this.api = api;
    this.csrf = null;
  }

  async call(method, path, { json, csrf = true, requestId } = {}) {
    const headers = {};
    if (json !== undefined) headers["Content-Type"] = "application/json";
    if (csrf && this.csrf) headers["X-CSRF-Token"] = this.csrf;
    if (requestId) headers["X-Request-ID"] = requestId;
    let response;
    try {
      response = await fetch(this.api + path, {
        method,
        headers,
        credentials: "include",
        cache: "no-store",
        body: json === undefined ? undefined : JSON.stringify(json),
      });
    } catch (error) {
      return { reached: false, error: String(error) };  // what a CORS refusal looks like
    }
    const token = response.headers.get("X-CSRF-Token");
    if (token) this.csrf = token;
    const shown = {};
    for (const name of SHOWN_HEADERS) shown[name.toLowerCase()] = response.headers.get(name);
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    return { reached: true, status: response.status, headers: shown, body };
  }

  signup(username, password) {
    return this.call("POST", "/signup", { json: { username, password } });
  }

  login(username, password) {
    return this.call("POST", "/login", { json: { username, password } });
  }

  putItem(id, name, size, { csrf = true, requestId } = {}) {
    return this.call("PUT", `/items/${id}`, { json: { name, size }, csrf, requestId });
  }

  info() {
    return this.call("GET", "/api/info");
  }
}

window.AuthgateClient = AuthgateClient;
