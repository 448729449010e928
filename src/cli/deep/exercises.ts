/**
 * What the deep check does with its two resources, A and B, of the
 * temporary account: the things a user does every day, each a step with
 * its own deadline. Every step records what it proved in `Facts`, which
 * the compliance table (compliance.ts) reads.
 */
import type { Element } from "../../xml/element.ts";
import { escapeAttr, escapeText } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import type { DeepClient } from "./client.ts";
import type { Facts } from "./facts.ts";
import { httpRequest } from "./http_request.ts";
import type { TrustOptions } from "./tls_options.ts";
import {
  NS_CARBONS,
  NS_FORWARD,
  NS_MAM,
  NS_MUC,
  NS_MUC_OWNER,
  NS_MUC_USER,
  NS_ROSTER,
  NS_UPLOAD,
} from "../../xml/namespaces.ts";

/** Services asked for disco#info when looking for upload and MUC. */
const MAX_ITEMS = 20;

const bareOf = (jid: string) => jid.split("/")[0];
const token = () => crypto.randomUUID().slice(0, 8);

/** The body of `message`, or of the message a carbon/MAM result forwards (two levels, no deeper). */
export function bodyOf(message: Element): string | undefined {
  const direct = message.getChildText("body");
  if (direct !== undefined) return direct;
  for (const wrapper of message.getChildren()) {
    const inner = wrapper.getChild("forwarded", NS_FORWARD)?.getChild("message", NS.client) ??
      wrapper.getChild("forwarded", NS_FORWARD)?.getChild("message");
    const body = inner?.getChildText("body");
    if (body !== undefined) return body;
  }
  return undefined;
}

export async function roster(a: DeepClient, domain: string): Promise<string> {
  const contact = `parley-check-contact-${token()}@${domain}`;
  const item = (extra: string) =>
    `<query xmlns='${NS_ROSTER}'><item jid='${contact}'${extra}/></query>`;
  const list = async () =>
    (await a.iq("get", undefined, `<query xmlns='${NS_ROSTER}'/>`)).getChild("query", NS_ROSTER)
      ?.getChildren("item").map((i) => i.attrs.jid) ?? [];
  await a.iq("set", undefined, item(" name='Parley check'"));
  if (!(await list()).includes(contact)) throw new Error("the item set is not in the roster");
  await a.iq("set", undefined, item(" subscription='remove'"));
  if ((await list()).includes(contact)) throw new Error("the removed item is still in the roster");
  return "item set, read back, removed";
}

/** Both resources available; resolves once A has seen B's presence, so delivery to B is settled. */
export async function goOnline(a: DeepClient, b: DeepClient): Promise<void> {
  await a.send("<presence/>");
  await b.send("<presence/>");
  await a.next((e) =>
    e.name === "presence" && e.attrs.from === b.jid && e.attrs.type === undefined
  );
}

export async function messageToSelf(a: DeepClient, b: DeepClient): Promise<string> {
  const body = `parley check ${token()}`;
  await a.send(
    `<message type='chat' to='${escapeAttr(bareOf(a.jid))}' id='m-${token()}'><body>${
      escapeText(body)
    }</body></message>`,
  );
  await b.next((e) => e.name === "message" && e.getChildText("body") === body);
  return body;
}

export async function mam(a: DeepClient, body: string): Promise<string> {
  const queryid = `q-${token()}`;
  await a.iq(
    "set",
    undefined,
    `<query xmlns='${NS_MAM}' queryid='${queryid}'><set xmlns='http://jabber.org/protocol/rsm'><max>50</max><before/></set></query>`,
  );
  // The results come before the iq result, so they are in the inbox already.
  await a.next(
    (e) =>
      e.name === "message" && e.getChild("result", NS_MAM)?.attrs.queryid === queryid &&
      bodyOf(e) === body,
    1000,
  ).catch(() => {
    throw new Error("the archive query did not return the message to self");
  });
  return "the last page of the archive holds the message to self";
}

export async function carbons(a: DeepClient, b: DeepClient): Promise<string> {
  await a.iq("set", undefined, `<enable xmlns='${NS_CARBONS}'/>`);
  await b.iq("set", undefined, `<enable xmlns='${NS_CARBONS}'/>`);
  const body = `parley carbon ${token()}`;
  // To A's own full JID: A gets the original, B (not addressed) a <received/> copy.
  await a.send(
    `<message type='chat' to='${escapeAttr(a.jid)}'><body>${escapeText(body)}</body></message>`,
  );
  await b.next((e) =>
    e.name === "message" && e.getChild("received", NS_CARBONS) !== undefined && bodyOf(e) === body
  );
  return "enabled on both resources; B got a <received/> copy of a message to A";
}

/** disco#items of the domain, each item's disco#info; the first with `feature`. */
async function findService(
  a: DeepClient,
  domain: string,
  feature: string,
  facts: Facts,
): Promise<string | undefined> {
  if (!facts.items) {
    const r = await a.iq("get", domain, `<query xmlns='${NS.discoItems}'/>`);
    facts.items = r.getChild("query", NS.discoItems)?.getChildren("item").map((i) =>
      i.attrs.jid ?? ""
    )
      .filter(Boolean).slice(0, MAX_ITEMS) ?? [];
  }
  for (const jid of facts.items) {
    facts.serviceFeatures[jid] ??= await a.discoFeatures(jid);
    if (facts.serviceFeatures[jid].has(feature)) return jid;
  }
  return undefined;
}

export async function upload(
  a: DeepClient,
  domain: string,
  facts: Facts,
  trust: TrustOptions,
  /** Where to connect for a URL naming this server's own host and listener (else DNS). */
  localAddress: (url: URL) => string | undefined,
): Promise<string | undefined> {
  const service = await findService(a, domain, NS_UPLOAD, facts);
  if (!service) return undefined;
  const content = new TextEncoder().encode(`parley check --deep ${token()}\n`);
  const r = await a.iq(
    "get",
    service,
    `<request xmlns='${NS_UPLOAD}' filename='parley-check.txt' size='${content.length}' content-type='text/plain'/>`,
  );
  const slot = r.getChild("slot", NS_UPLOAD);
  const put = slot?.getChild("put");
  const get = slot?.getChild("get")?.attrs.url;
  if (!put?.attrs.url || !get) throw new Error(`${service} gave no slot URLs`);
  const headers: Record<string, string> = { "content-type": "text/plain" };
  for (const h of put.getChildren("header")) {
    if (["Authorization", "Cookie", "Expires"].includes(h.attrs.name ?? "")) {
      headers[h.attrs.name!] = h.text();
    }
  }
  const via = (url: string) => localAddress(new URL(url));
  const stored = await httpRequest(
    put.attrs.url,
    "PUT",
    headers,
    content,
    domain,
    trust,
    via(put.attrs.url),
  );
  if (stored.status !== 201 && stored.status !== 200) {
    throw new Error(`PUT answered ${stored.status}`);
  }
  const back = await httpRequest(get, "GET", {}, undefined, domain, trust, via(get));
  if (back.status !== 200) throw new Error(`GET answered ${back.status}`);
  if (new TextDecoder().decode(back.body) !== new TextDecoder().decode(content)) {
    throw new Error("GET returned other bytes than were PUT");
  }
  return `slot from ${service}; PUT ${stored.status}, GET 200 with the same bytes`;
}

export async function muc(
  a: DeepClient,
  domain: string,
  facts: Facts,
): Promise<string | undefined> {
  const service = await findService(a, domain, NS_MUC, facts);
  if (!service) return undefined;
  facts.mucService = service;
  const room = `parley-check-${token()}@${service}`;
  const me = `${room}/check`;
  await a.send(`<presence to='${me}'><x xmlns='${NS_MUC}'/></presence>`);
  const self = await a.next((e) =>
    e.name === "presence" && e.attrs.from === me &&
    (e.attrs.type === "error" ||
      (e.getChild("x", NS_MUC_USER)?.getChildren("status").some((s) => s.attrs.code === "110") ??
        false))
  );
  if (self.attrs.type === "error") throw new Error(`joining ${room} was refused`);
  const created = self.getChild("x", NS_MUC_USER)!.getChildren("status").some((s) =>
    s.attrs.code === "201"
  );
  if (created) {
    // A new room stays locked until its owner accepts the default configuration (instant room).
    await a.iq(
      "set",
      room,
      `<query xmlns='${NS_MUC_OWNER}'><x xmlns='jabber:x:data' type='submit'/></query>`,
    );
  }
  facts.roomFeatures = await a.discoFeatures(room);
  const body = `parley room ${token()}`;
  await a.send(`<message type='groupchat' to='${room}'><body>${body}</body></message>`);
  await a.next((e) =>
    e.name === "message" && e.attrs.type === "groupchat" && e.attrs.from === me &&
    e.getChildText("body") === body
  );
  // Leave by destroying the room: nothing of the check stays behind, persistent or not.
  let left = "destroyed";
  try {
    await a.iq("set", room, `<query xmlns='${NS_MUC_OWNER}'><destroy/></query>`);
  } catch {
    await a.send(`<presence to='${me}' type='unavailable'/>`);
    left = "left";
  }
  await a.next((e) =>
    e.name === "presence" && e.attrs.from === me && e.attrs.type === "unavailable"
  );
  return `joined ${room}${created ? " (new, instant)" : ""}, message echoed, ${left}`;
}

export async function removeAccount(a: DeepClient): Promise<void> {
  await a.iq("set", undefined, "<query xmlns='jabber:iq:register'><remove/></query>");
}
