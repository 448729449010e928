/**
 * PEP test helpers: seeded rosters, and clients that announce entity
 * caps (XEP-0115) and answer the server's disco#info about them.
 */
import type { Json } from "../../src/storage/types.ts";
import { capsVer } from "../../src/modules/caps.ts";
import { el, type Element } from "../../src/xml/element.ts";
import { errorCondition, iq, TestClient } from "./client.ts";
import type { TestServer } from "./server.ts";

export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
const NS_CAPS = "http://jabber.org/protocol/caps";
const NS_INFO = "http://jabber.org/protocol/disco#info";

export async function seedRoster(
  server: TestServer,
  user: string,
  items: { jid: string; subscription: string; groups?: string[] }[],
): Promise<void> {
  await server.storage.keyval("localhost", "roster").set(user, {
    version: 1,
    items: items.map((i) => ({ groups: [], ...i })) as Json[],
    pending: {},
  });
}

export interface CapsClient {
  client: TestClient;
  /** Initial presence carrying the caps. */
  presence: string;
  /** The server's disco#info queries, answered. */
  queries: Element[];
}

/**
 * Log in (roster fetched first), answer disco#info with `features`, and
 * optionally send the caps presence (waiting for its echo).
 */
export async function capsLogin(
  server: TestServer,
  user: string,
  password: string,
  resource: string,
  features: string[],
  sendPresence = true,
): Promise<CapsClient> {
  const client = await TestClient.login({
    port: server.ports.c2s,
    user,
    password,
    resource,
    presence: false,
  });
  const identity = { category: "client", type: "pc", name: "test" };
  const all = [NS_INFO, ...features];
  const ver = capsVer([identity], all);
  const node = "https://test.example/caps";
  const queries: Element[] = [];
  client.tap = (f) => {
    if (f.kind !== "stanza") return false;
    const e = f.element;
    const q = e.getChild("query", NS_INFO);
    if (e.name !== "iq" || e.attrs.type !== "get" || !q) return false;
    queries.push(e);
    client.send(
      el(
        "iq",
        { type: "result", id: e.attrs.id, to: e.attrs.from },
        el(
          "query",
          { xmlns: NS_INFO, node: q.attrs.node },
          el("identity", identity),
          ...all.map((v) => el("feature", { var: v })),
        ),
      ),
    );
    return true;
  };
  client.send(`<iq type='get' id='roster0'><query xmlns='jabber:iq:roster'/></iq>`);
  await client.stanza((e) => e.attrs.id === "roster0");
  const presence = `<presence><c xmlns='${NS_CAPS}' hash='sha-1' node='${node}' ver='${ver}'/>` +
    `</presence>`;
  if (sendPresence) {
    client.send(presence);
    await client.stanza((e) => e.name === "presence" && e.attrs.from === client.jid);
  }
  return { client, presence, queries };
}

/** The next PEP notification for `node` from `from` (its `<items/>` etc.). */
export async function event(c: TestClient, from: string, node: string): Promise<Element> {
  const msg = await c.stanza((e) =>
    e.name === "message" && e.attrs.from === from &&
    e.getChild("event", NS_EVENT)?.getChildren().some((x) => x.attrs.node === node) === true
  );
  return msg.getChild("event", NS_EVENT)!.firstElement()!;
}

export const isEvent = (from: string, node: string) => (e: Element) =>
  e.name === "message" && e.attrs.from === from &&
  e.getChild("event", NS_EVENT)?.getChildren().some((x) => x.attrs.node === node) === true;

export function publishXml(
  id: string,
  node: string,
  itemId: string | undefined,
  payload: string,
  options?: Record<string, string>,
): string {
  const item = itemId === undefined
    ? `<item>${payload}</item>`
    : `<item id='${itemId}'>${payload}</item>`;
  const opts = options
    ? `<publish-options><x xmlns='jabber:x:data' type='submit'>` +
      `<field var='FORM_TYPE' type='hidden'><value>${NS_PUBSUB}#publish-options</value></field>` +
      Object.entries(options).map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
        .join("") +
      `</x></publish-options>`
    : "";
  return `<iq type='set' id='${id}'><pubsub xmlns='${NS_PUBSUB}'><publish node='${node}'>${item}` +
    `</publish>${opts}</pubsub></iq>`;
}

/** The PEP nodes of `owner`'s account, sorted (disco#items of the bare JID). */
export async function pepNodes(c: TestClient, owner: string): Promise<string[]> {
  const r = await iq(
    c,
    "di",
    `<iq type='get' id='di' to='${owner}'><query xmlns='${NS_DISCO_ITEMS}'/></iq>`,
  );
  return r.getChild("query", NS_DISCO_ITEMS)!.getChildren("item").map((i) => i.attrs.node).sort();
}

/** The error condition of fetching the items of `owner`'s `node` (undefined when it answers). */
export async function itemsError(
  c: TestClient,
  owner: string,
  node: string,
): Promise<string | undefined> {
  const r = await iq(
    c,
    "f",
    `<iq type='get' id='f' to='${owner}'><pubsub xmlns='${NS_PUBSUB}'>` +
      `<items node='${node}'/></pubsub></iq>`,
  );
  return r.attrs.type === "error" ? errorCondition(r) : undefined;
}

/** Wait (bounded: 200 turns of 10 ms) until `cond` holds. */
export async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error("condition not reached");
}

/**
 * Alice and bob, subscribed both ways, logged in with caps; bob's ask for
 * avatar metadata notifications (+notify), alice's for none.
 */
export async function avatarContacts(server: TestServer) {
  await seedRoster(server, "alice", [{ jid: "bob@localhost", subscription: "both" }]);
  await seedRoster(server, "bob", [{ jid: "alice@localhost", subscription: "both" }]);
  const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", []);
  const { client: bob } = await capsLogin(server, "bob", "builder", "b", [
    "urn:xmpp:avatar:metadata+notify",
  ]);
  return { alice, bob };
}
