/** The status page over real HTTP: logging in with the form, fetching the JSON. */
import type { TestServer } from "./server.ts";

export function statusUrl(server: TestServer, path = "/status"): string {
  return `http://127.0.0.1:${server.ports.http}${path}`;
}

/** POST the login form (as a page of the server's own origin would); the raw response. */
export async function postLogin(
  server: TestServer,
  jid: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(statusUrl(server, "/status/login"), {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      origin: `http://127.0.0.1:${server.ports.http}`,
      ...headers,
    },
    body: new URLSearchParams({ jid, password }).toString(),
  });
  await res.body?.cancel();
  return res;
}

/** The login cookie (`name=value`) a successful login set. */
export async function loginCookie(server: TestServer, jid: string, password: string) {
  const res = await postLogin(server, jid, password);
  if (res.status !== 303) throw new Error(`login refused: ${res.status}`);
  return res.headers.get("set-cookie")!.split(";")[0];
}

/** GET /status/data with `cookie`: the status and the parsed body. */
export async function statusData(
  server: TestServer,
  cookie?: string,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const res = await fetch(statusUrl(server, "/status/data"), {
    headers: cookie ? { cookie } : {},
  });
  return { status: res.status, body: await res.json() };
}
