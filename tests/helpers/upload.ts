/**
 * HTTP upload tests: a server with `upload.localhost`, a logged-in user,
 * slot requests, and the slot's URLs fetched over the plain HTTP listener
 * (the URLs name https://upload.localhost, which does not resolve here;
 * the path is the same on both listeners).
 */
import { iq, TestClient } from "./client.ts";
import { startTestServer, type TestServer } from "./server.ts";
import type { Element } from "../../src/xml/element.ts";

export const UPLOAD = "upload.localhost";
export const NS_UPLOAD = "urn:xmpp:http:upload:0";

export async function uploadServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return await startTestServer(overrides);
}

export async function login(server: TestServer, user = "alice"): Promise<TestClient> {
  return await TestClient.login({
    port: server.ports.c2s,
    user,
    password: user === "alice" ? "wonderland" : "builder",
    resource: "r",
  });
}

let n = 0;

/** Ask `to` for a slot; the reply iq (result or error). */
export async function requestSlot(
  c: TestClient,
  attrs: { filename?: string; size?: number | string; type?: string },
  to = UPLOAD,
): Promise<Element> {
  const id = `slot-${++n}`;
  const a = [
    attrs.filename === undefined ? "" : ` filename='${attrs.filename}'`,
    attrs.size === undefined ? "" : ` size='${attrs.size}'`,
    attrs.type === undefined ? "" : ` content-type='${attrs.type}'`,
  ].join("");
  return await iq(
    c,
    id,
    `<iq type='get' id='${id}' to='${to}'><request xmlns='${NS_UPLOAD}'${a}/></iq>`,
  );
}

export interface Slot {
  put: string;
  get: string;
}

export function slotOf(reply: Element): Slot {
  const slot = reply.getChild("slot", NS_UPLOAD);
  if (!slot) throw new Error(`no slot: ${reply}`);
  return { put: slot.getChild("put")!.attrs.url, get: slot.getChild("get")!.attrs.url };
}

/** `url` (https://upload.localhost:…/upload/…) on the plain HTTP listener. */
export function local(server: TestServer, url: string): string {
  const u = new URL(url);
  return `http://127.0.0.1:${server.ports.http}${u.pathname}${u.search}`;
}

export async function put(
  server: TestServer,
  url: string,
  body: Uint8Array<ArrayBuffer> | string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return await fetch(local(server, url), { method: "PUT", body, headers });
}

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/**
 * A PUT of `size` bytes to `url` over a raw socket with only `first`
 * written yet: the open connection, for the test to finish or drop.
 */
export async function startRawPut(
  server: TestServer,
  url: string,
  size: number,
  first: Uint8Array,
): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.ports.http });
  const path = new URL(url).pathname + new URL(url).search;
  const head = `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n` +
    `Connection: close\r\n\r\n`;
  await writeAll(conn, new TextEncoder().encode(head));
  await writeAll(conn, first);
  return conn;
}
