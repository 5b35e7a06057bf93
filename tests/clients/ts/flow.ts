// Drives a served authgate through openapi-fetch, typed by the `paths` that openapi-typescript
// generated from its /openapi.json into ./schema.ts (made by the test run, never committed):
// sign-up, log-in, GET /account/me, refresh, an item upsert with If-Match, log-out.
// tests/clients/test_typescript_client.py compiles it with tsc (a type error fails the test) and
// runs it with AUTHGATE_URL set to the server. Any mismatch exits 1 and says which.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

type User = components["schemas"]["UserRead"];
type Item = components["schemas"]["ItemRead"];

const USERNAME = "ts-client";
const PASSWORD = "correct-horse-battery";

function fail(message: string): never {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) fail(message);
}

/** The parsed body of an answer with the `status` the step expects; fails otherwise. */
function expect<T>(step: string, status: number, answer: { data?: T; error?: unknown; response: Response }): T {
  const { data, error, response } = answer;
  if (response.status !== status) {
    fail(`${step}: expected ${status}, got ${response.status} ${JSON.stringify(error ?? data)}`);
  }
  if (data === undefined) fail(`${step}: ${status} without a body`);
  return data;
}

/** The error code of an answer that must fail with `status`. */
function refused(step: string, status: number, answer: { error?: { code: string }; response: Response }): string {
  if (answer.response.status !== status || answer.error === undefined) {
    fail(`${step}: expected ${status} with an error body, got ${answer.response.status}`);
  }
  return answer.error.code;
}

const baseUrl = process.env.AUTHGATE_URL ?? fail("AUTHGATE_URL is not set");
const client = createClient<paths>({ baseUrl });
let accessToken: string | undefined;
// openapi-fetch's way to authenticate: a middleware that adds the Bearer token to each request.
const bearer: Middleware = {
  onRequest({ request }) {
    if (accessToken) request.headers.set("Authorization", `Bearer ${accessToken}`);
    return request;
  },
};
client.use(bearer);

const signup: User = expect("sign-up", 201, await client.POST("/account/create-account", {
  body: { username: USERNAME, password: PASSWORD, email: "ts-client@example.com" },
}));
check(signup.username === USERNAME && signup.email === "ts-client@example.com", `sign-up: ${JSON.stringify(signup)}`);
check(!signup.is_admin && !Number.isNaN(Date.parse(signup.date_joined)), `sign-up: ${JSON.stringify(signup)}`);

const taken = await client.POST("/account/create-account", { body: { username: "TS-CLIENT", password: PASSWORD } });
check(refused("sign-up again", 400, taken) === "username_taken", "sign-up again: not username_taken");

const login = expect("log-in", 200, await client.POST("/account/login", {
  body: { username: USERNAME, password: PASSWORD },
}));
const tokenType: "bearer" = login.token_type;
const expiresIn: number = login.expires_in;
check(tokenType === "bearer" && expiresIn > 0 && login.message === "Login successful", `log-in: ${JSON.stringify(login)}`);

accessToken = login.access;
const me: User = expect("GET /account/me", 200, await client.GET("/account/me"));
const id: number = me.id;
check(id === signup.id && me.username === USERNAME, `GET /account/me: ${JSON.stringify(me)}`);

const rotated = expect("refresh", 200, await client.POST("/account/refresh", { body: { refresh: login.refresh } }));
const refresh = rotated.refresh;
check(typeof refresh === "string" && refresh !== login.refresh, "refresh: no new refresh token (rotation is on)");
accessToken = rotated.access;

const created = await client.PUT("/items/{item_id}", {
  params: { path: { item_id: "ts-item" } },
  body: { name: "Fighters", size: 6 },
});
const first = expect("create item", 201, created);
const item: Item = first.item;
check(first.message === "Item created", `create item: ${JSON.stringify(first)}`);
check(item.id === "ts-item" && item.name === "Fighters" && item.size === 6 && item.owner === USERNAME,
  `create item: ${JSON.stringify(item)}`);
check(created.response.headers.get("Location")?.endsWith("/items/ts-item") === true, "create item: no Location");
const etag = created.response.headers.get("ETag") ?? fail("create item: no ETag");

const updated = await client.PUT("/items/{item_id}", {
  params: { path: { item_id: "ts-item" }, header: { "if-match": etag } },
  body: { name: "Foo", size: 7 },
});
const second = expect("update item with If-Match", 200, updated);
check(second.message === "Item updated" && second.item.name === "Foo" && second.item.size === 7,
  `update item: ${JSON.stringify(second)}`);
check(updated.response.headers.get("ETag") !== etag, "update item: the ETag did not change");

const stale = await client.PUT("/items/{item_id}", {
  params: { path: { item_id: "ts-item" }, header: { "if-match": etag } },
  body: { name: "Lost", size: 8 },
});
check(refused("update with a stale If-Match", 412, stale) === "precondition_failed", "stale If-Match: wrong code");

const logout = expect("log-out", 200, await client.POST("/account/logout", { body: { refresh } }));
check(logout.message === "Logout successful", `log-out: ${JSON.stringify(logout)}`);

const after = await client.GET("/account/me");
check(refused("GET /account/me after log-out", 401, after) === "token_revoked", "after log-out: not token_revoked");

console.log("ok: sign-up, log-in, /account/me, refresh, item upsert with If-Match, log-out");
