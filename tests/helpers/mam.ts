/**
 * Archive queries (XEP-0313) for tests: build the query, collect the
 * result messages of one queryid and the `<fin/>`.
 */
import type { Element } from "../../src/xml/element.ts";
import { serialize } from "../../src/xml/element.ts";
import { TestClient } from "./client.ts";
import { startTestServer, type TestServer } from "./server.ts";
import type { StartOptions } from "../../src/server.ts";

export const NS_MAM = "urn:xmpp:mam:2";
export const NS_RSM = "http://jabber.org/protocol/rsm";
export const NS_SID = "urn:xmpp:sid:0";

export interface QueryOptions {
  fields?: Record<string, string | string[]>;
  /** RSM children as XML, e.g. "<max>10</max><before/>". */
  rsm?: string;
  flip?: boolean;
  to?: string;
}

export interface QueryResult {
  iq: Element;
  /** The result messages' <result/> elements, in the order received. */
  results: Element[];
  ids: string[];
  /** Bodies of the forwarded messages. */
  bodies: string[];
  fin?: Element;
  first?: string;
  firstIndex?: string;
  last?: string;
  count?: number;
  complete: boolean;
}

let n = 0;

export function queryXml(id: string, queryid: string, o: QueryOptions = {}): string {
  let form = "";
  if (o.fields) {
    form = `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'>` +
      `<value>${NS_MAM}</value></field>`;
    for (const [k, v] of Object.entries(o.fields)) {
      const values = Array.isArray(v) ? v : [v];
      form += `<field var='${k}'>${values.map((x) => `<value>${x}</value>`).join("")}</field>`;
    }
    form += `</x>`;
  }
  const rsm = o.rsm !== undefined ? `<set xmlns='${NS_RSM}'>${o.rsm}</set>` : "";
  const to = o.to ? ` to='${o.to}'` : "";
  return `<iq type='set' id='${id}'${to}><query xmlns='${NS_MAM}' queryid='${queryid}'>` +
    `${form}${rsm}${o.flip ? "<flip-page/>" : ""}</query></iq>`;
}

export async function mamQuery(c: TestClient, o: QueryOptions = {}): Promise<QueryResult> {
  const id = `mam-${++n}`;
  const queryid = `q${n}`;
  c.send(queryXml(id, queryid, o));
  const iq = await c.stanza((e) => e.name === "iq" && e.attrs.id === id, 20_000);
  const results: Element[] = [];
  // Results precede the iq on the stream: all of them are queued by now.
  for (let i = 0; i < c.frames.length;) {
    const f = c.frames[i];
    const r = f.kind === "stanza" ? f.element.getChild("result", NS_MAM) : undefined;
    if (r && r.attrs.queryid === queryid) {
      results.push(r);
      c.frames.splice(i, 1);
    } else i++;
  }
  const fin = iq.getChild("fin", NS_MAM);
  const set = fin?.getChild("set", NS_RSM);
  const count = set?.getChildText("count");
  return {
    iq,
    results,
    ids: results.map((r) => r.attrs.id),
    bodies: results.map((r) =>
      r.getChild("forwarded", "urn:xmpp:forward:0")?.getChild("message", "jabber:client")
        ?.getChildText("body") ?? ""
    ),
    fin,
    first: set?.getChildText("first"),
    firstIndex: set?.getChild("first")?.attrs.index,
    last: set?.getChildText("last"),
    count: count === undefined ? undefined : Number(count),
    complete: fin?.attrs.complete === "true",
  };
}

/** The archive store of a test server's host. */
export const archiveOf = (server: TestServer, domain = "localhost") =>
  server.storage.archive(domain, "archive");

/**
 * Put `n` chat messages into `user`'s archive directly (fast seeding):
 * ids m0…, bodies b0…, one millisecond apart from `base`, with `withJid`.
 */
export async function seed(
  server: TestServer,
  user: string,
  n: number,
  { base = Date.now() - 60_000, withJid = "bob@localhost", prefix = "" } = {},
): Promise<void> {
  const store = archiveOf(server);
  for (let i = 0; i < n; i++) {
    const value = `<message from='${withJid}/r' to='${user}@localhost' type='chat'>` +
      `<body>${prefix}b${i}</body></message>`;
    await store.append(user, { id: `${prefix}m${i}`, when: base + i, with: withJid, value });
  }
}

/** The stanza-id by `by` a message carries. */
export function stanzaId(message: Element, by: string): string | undefined {
  return message.getChildren("stanza-id", NS_SID).find((s) => s.attrs.by === by)?.attrs.id;
}

export const show = (e: Element) => serialize(e);

/** Log in `user` (startTestServer's default accounts; bob's password for anyone else). */
export function login(
  server: TestServer,
  user: string,
  resource: string,
  presence?: string | false,
) {
  return TestClient.login({
    port: server.ports.c2s,
    user,
    password: user === "alice" ? "wonderland" : "builder",
    resource,
    presence,
  });
}

/** startTestServer with `overrides` and `options`, alice (resource a) and bob (b) logged in. */
export async function startWithAliceAndBob(
  overrides: Record<string, unknown> = {},
  options: StartOptions = {},
): Promise<{ server: TestServer; alice: TestClient; bob: TestClient }> {
  const server = await startTestServer(overrides, undefined, options);
  const alice = await login(server, "alice", "a");
  const bob = await login(server, "bob", "b");
  return { server, alice, bob };
}
