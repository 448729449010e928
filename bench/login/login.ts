/**
 * One login per call, over a fresh TCP connection with STARTTLS, in the
 * three ways the benchmark compares:
 *  - `sasl1`: SCRAM-SHA-1 (RFC 6120 SASL) → stream restart → bind iq;
 *  - `sasl2`: SASL2 (XEP-0388) `<authenticate/>` with inline Bind2
 *    (XEP-0386), by SCRAM or by a FAST token (XEP-0484, HT-SHA-256-NONE):
 *    no restart, no bind iq, the session is usable on `<success/>`.
 * Optional initial presence. Resolves once the session is usable; the
 * caller closes it.
 */
import { TestClient } from "../../tests/helpers/client.ts";
import type { Element } from "../../src/xml/element.ts";
import { b64, htInitial, htVerify, scram, unb64 } from "./sasl.ts";

export interface Target {
  host: string;
  port: number;
  domain: string;
}

export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_SASL2 = "urn:xmpp:sasl:2";
export const NS_BIND2 = "urn:xmpp:bind:0";
export const NS_FAST = "urn:xmpp:fast:0";
const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const FAST_MECH = "HT-SHA-256-NONE";
const WAIT_MS = 30_000;

/** A FAST token as the server issued it; replaced when the server rotates it. */
export interface FastToken {
  token: string;
  expiry?: string;
}

/** TCP → stream → STARTTLS → stream: the features after TLS. */
export async function secured(t: Target): Promise<TestClient> {
  const c = await TestClient.connect({ port: t.port, address: t.host, domain: t.domain });
  try {
    await c.open();
    await c.starttls();
    await c.open();
    return c;
  } catch (e) {
    c.close();
    throw e;
  }
}

/** The SASL2 mechanisms and whether FAST is offered inline (empty if no SASL2). */
export function sasl2Offer(c: TestClient): { mechanisms: string[]; fast: string[] } {
  const auth = c.features?.getChild("authentication", NS_SASL2);
  const fast = auth?.getChild("inline")?.getChild("fast", NS_FAST);
  return {
    mechanisms: auth?.getChildren("mechanism").map((m) => m.text()) ?? [],
    fast: fast?.getChildren("mechanism").map((m) => m.text()) ?? [],
  };
}

/** SASL1 SCRAM-SHA-1 + restart + bind iq. */
export async function loginSasl1(c: TestClient, user: string, password: string): Promise<void> {
  const s = scram("SCRAM-SHA-1", user, password);
  c.send(`<auth xmlns='${NS_SASL}' mechanism='SCRAM-SHA-1'>${b64(s.first)}</auth>`);
  const ch = await c.stanza((e) => e.name === "challenge" || e.name === "failure", WAIT_MS);
  if (ch.name === "failure") throw new Error(`auth ${user}: ${ch}`);
  c.send(`<response xmlns='${NS_SASL}'>${b64(await s.final(unb64(ch.text())))}</response>`);
  const r = await c.stanza((e) => e.name === "success" || e.name === "failure", WAIT_MS);
  if (r.name !== "success") throw new Error(`auth ${user}: ${r}`);
  if (!s.verify(unb64(r.text()))) throw new Error(`auth ${user}: bad server signature`);
  await c.open();
  c.send(
    `<iq type='set' id='bind1'><bind xmlns='${NS_BIND}'><resource>bench</resource></bind></iq>`,
  );
  const b = await c.stanza((e) => e.name === "iq" && e.attrs.id === "bind1", WAIT_MS);
  if (b.attrs.type !== "result") throw new Error(`bind ${user}: ${b}`);
}

export interface Sasl2Options {
  /** A stable id per client (XEP-0388 user-agent); FAST tokens are bound to it. */
  userAgentId: string;
  /** SCRAM-SHA-1/-256 with the password, or FAST_MECH with `token`. */
  mechanism: string;
  password?: string;
  token?: FastToken;
  /** Ask for a FAST token in this login (XEP-0484 request-token). */
  requestToken?: boolean;
}

export interface Sasl2Result {
  jid: string;
  /** A token the server issued or rotated to in this login. */
  token?: FastToken;
}

/** SASL2 + inline Bind2, by SCRAM or FAST; the session is bound on return. */
export async function loginSasl2(
  c: TestClient,
  user: string,
  o: Sasl2Options,
): Promise<Sasl2Result> {
  const fast = o.mechanism === FAST_MECH;
  let initial: Uint8Array;
  let sc: ReturnType<typeof scram> | undefined;
  if (fast) {
    if (!o.token) throw new Error(`${user}: FAST without a token`);
    initial = await htInitial(user, o.token.token);
  } else {
    sc = scram(o.mechanism, user, o.password ?? "");
    initial = sc.first;
  }
  c.send(
    `<authenticate xmlns='${NS_SASL2}' mechanism='${o.mechanism}'>` +
      `<initial-response>${b64(initial)}</initial-response>` +
      `<user-agent id='${o.userAgentId}'><software>parley-loginbench</software>` +
      `<device>bench</device></user-agent>` +
      `<bind xmlns='${NS_BIND2}'><tag>bench</tag></bind>` +
      (o.requestToken ? `<request-token xmlns='${NS_FAST}' mechanism='${FAST_MECH}'/>` : "") +
      (fast ? `<fast xmlns='${NS_FAST}'/>` : "") +
      `</authenticate>`,
  );
  const isSasl2 = (e: Element) => e.attrs.xmlns === NS_SASL2;
  for (let step = 0; step < 4; step++) {
    const e = await c.stanza(
      (e) => isSasl2(e) && ["challenge", "success", "failure", "continue"].includes(e.name),
      WAIT_MS,
    );
    if (e.name === "challenge") {
      if (!sc) throw new Error(`${user}: unexpected challenge ${e}`);
      c.send(`<response xmlns='${NS_SASL2}'>${b64(await sc.final(unb64(e.text())))}</response>`);
      continue;
    }
    if (e.name !== "success") throw new Error(`sasl2 ${o.mechanism} ${user}: ${e}`);
    const extra = unb64(e.getChildText("additional-data") ?? "");
    const proven = fast ? await htVerify(o.token!.token, extra) : sc!.verify(extra);
    if (!proven) throw new Error(`sasl2 ${o.mechanism} ${user}: server proof missing or wrong`);
    if (!e.getChild("bound", NS_BIND2)) throw new Error(`sasl2 ${user}: not bound: ${e}`);
    const t = e.getChild("token", NS_FAST);
    return {
      jid: e.getChildText("authorization-identifier") ?? "",
      token: t?.attrs.token ? { token: t.attrs.token, expiry: t.attrs.expiry } : undefined,
    };
  }
  throw new Error(`sasl2 ${user}: too many challenges`);
}

/** A stable UUID-shaped user-agent id per user name (so reruns replace, not pile up, tokens). */
export async function userAgentId(user: string): Promise<string> {
  const h = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`loginbench:${user}`)),
  );
  const x = Array.from(h.slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-8${x.slice(17, 20)}-${
    x.slice(20, 32)
  }`;
}
