/**
 * Stream management (XEP-0198) from the client's side, for integration
 * tests: enable, count what arrived, drop the connection, resume.
 */
import { TestClient } from "./client.ts";
import type { TestServer } from "./server.ts";
import { imLogin } from "./im.ts";
import type { Element } from "../../src/xml/element.ts";
import type { Session } from "../../src/core/session.ts";

export const SM = "urn:xmpp:sm:3";

const isStanza = (e: Element) =>
  (e.name === "message" || e.name === "presence" || e.name === "iq") &&
  (e.attrs.xmlns === undefined || e.attrs.xmlns === "jabber:client");

/**
 * Counts the stanzas a client received after `<enabled/>` (the client's
 * `h`, XEP-0198 §4), by watching every frame as it arrives.
 */
export class Handled {
  count = 0;
  #on: boolean;
  constructor(c: TestClient, on = false) {
    this.#on = on;
    const before = c.tap;
    c.tap = (f) => {
      if (f.kind === "stanza") {
        if (f.element.name === "enabled" && f.element.attrs.xmlns === SM) this.#on = true;
        else if (this.#on && isStanza(f.element)) this.count++;
      }
      return before?.(f) ?? false;
    };
  }
}

/** `<enable/>` → `<enabled/>` (or `<failed/>`). */
export async function enable(c: TestClient, attrs = "resume='true'"): Promise<Element> {
  c.send(`<enable xmlns='${SM}' ${attrs}/>`);
  return await c.stanza((e) =>
    e.attrs.xmlns === SM && (e.name === "enabled" || e.name === "failed")
  );
}

/** An IM login (roster, presence) with stream management enabled, resumable. */
export async function smLogin(
  server: TestServer,
  user: string,
  password: string,
  resource: string,
): Promise<{ c: TestClient; id: string; handled: Handled }> {
  const c = await imLogin(server, user, password, resource);
  const handled = new Handled(c);
  const enabled = await enable(c);
  if (enabled.name !== "enabled") throw new Error("enable failed: " + enabled.toString());
  return { c, id: enabled.attrs.id, handled };
}

/** The server's session for `jid`. */
export function sessionOf(server: TestServer, jid: string): Session | undefined {
  return server.sessions.full(jid, "localhost");
}

/** Wait (bounded) until `check` holds. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The TCP connection dies without a closing tag; waits until the server hibernated the session. */
export async function dropConnection(server: TestServer, c: TestClient): Promise<Session> {
  const jid = c.jid!;
  c.socket.destroy();
  await until(() => sessionOf(server, jid)?.hibernating === true, "hibernation");
  return sessionOf(server, jid)!;
}

/** A new connection (authenticated, not bound) that sends `<resume/>`; the answer. */
export async function resume(
  server: TestServer,
  user: string,
  password: string,
  previd: string,
  h: number | string,
): Promise<{ c: TestClient; answer: Element }> {
  const c = await TestClient.authenticate({ port: server.ports.c2s, user, password });
  c.send(`<resume xmlns='${SM}' previd='${previd}' h='${h}'/>`);
  const answer = await c.stanza((e) =>
    e.attrs.xmlns === SM && (e.name === "resumed" || e.name === "failed") ||
    e.name === "stream:error"
  );
  return { c, answer };
}

/** The stanza error condition inside `<failed/>`. */
export function failedCondition(e: Element): string | undefined {
  return e.name === "failed" ? e.getChildren()[0]?.name : undefined;
}

/** Bodies of the messages `c` received (and removes them from its inbox). */
export function takeBodies(c: TestClient): string[] {
  const out: string[] = [];
  for (let i = 0; i < c.frames.length;) {
    const f = c.frames[i];
    if (f.kind === "stanza" && f.element.name === "message" && f.element.getChildText("body")) {
      out.push(f.element.getChildText("body")!);
      c.frames.splice(i, 1);
    } else i++;
  }
  return out;
}

/** A chat message with body `n` and id `m<n>`. */
export const chat = (to: string, n: number) =>
  `<message to='${to}' type='chat' id='m${n}'><body>${n}</body></message>`;

/** Wait until `c` has a message with body `last`, then take every body it has. */
export async function bodiesThrough(c: TestClient, last: string): Promise<string[]> {
  await until(
    () => c.frames.some((f) => f.kind === "stanza" && f.element.getChildText("body") === last),
    "message " + last,
  );
  return takeBodies(c);
}
