/** The status page over real HTTP: logging in with the form, fetching the JSON. */
import { Buffer } from "node:buffer";
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "node:crypto";
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

/** POST one SCRAM step to /status/scram. */
export async function scramStep(server: TestServer, body: unknown) {
  const res = await fetch(statusUrl(server, "/status/scram"), {
    method: "POST",
    headers: {
      "content-type": "application/json",
      origin: `http://127.0.0.1:${server.ports.http}`,
    },
    body: JSON.stringify(body),
  });
  // deno-lint-ignore no-explicit-any
  return { res, body: await res.json() as any };
}

/**
 * A SCRAM-SHA-256 login against /status/scram, as the page's script does
 * it: the last response, and whether the server's signature was right.
 */
export async function scramLogin(server: TestServer, jid: string, password: string) {
  const b64 = (b: Uint8Array | string) => Buffer.from(b).toString("base64");
  const hmac = (key: Uint8Array, data: string) =>
    new Uint8Array(createHmac("sha256", key).update(data).digest());
  const nonce = b64(randomBytes(18));
  const firstBare = `n=${jid.split("@")[0]},r=${nonce}`;
  const first = await scramStep(server, {
    mechanism: "SCRAM-SHA-256",
    jid,
    data: b64("n,," + firstBare),
  });
  if (first.res.status !== 200) return { ...first, serverVerified: false };
  const serverFirst = Buffer.from(first.body.data, "base64").toString();
  const attrs = Object.fromEntries(serverFirst.split(",").map((a) => [a[0], a.slice(2)]));
  const salted = new Uint8Array(
    pbkdf2Sync(password, Buffer.from(attrs.s, "base64"), Number(attrs.i), 32, "sha256"),
  );
  const clientKey = hmac(salted, "Client Key");
  const storedKey = new Uint8Array(createHash("sha256").update(clientKey).digest());
  const withoutProof = `c=biws,r=${attrs.r}`;
  const authMessage = `${firstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(storedKey, authMessage);
  const proof = clientKey.map((b, i) => b ^ signature[i]);
  const final = await scramStep(server, {
    id: first.body.id,
    data: b64(`${withoutProof},p=${b64(proof)}`),
  });
  const expected = "v=" + b64(hmac(hmac(salted, "Server Key"), authMessage));
  const got = final.body.data ? Buffer.from(final.body.data, "base64").toString() : "";
  return { ...final, serverVerified: got === expected };
}

/** A SCRAM-SHA-256 client-first for alice to /status/scram with `headers`: the HTTP status. */
export function scramFirst(server: TestServer, headers: Record<string, string>): Promise<number> {
  return fetch(statusUrl(server, "/status/scram"), {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({
      mechanism: "SCRAM-SHA-256",
      jid: "alice@localhost",
      data: btoa(`n,,n=alice,r=${crypto.randomUUID()}`),
    }),
  }).then(async (res) => {
    await res.body?.cancel();
    return res.status;
  });
}
