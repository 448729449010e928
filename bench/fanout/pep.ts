/**
 * PEP fan-out: pephub has `contacts` contacts (pep1..pepN, mutual
 * subscriptions), all online with entity caps advertising
 * urn:xmpp:avatar:metadata+notify and answering the server's disco#info
 * for their caps node; pephub publishes avatar metadata items; an item's
 * fan-out time ends when the last contact has its notification.
 */
import { createHash } from "node:crypto";
import { BenchClient, pool, type Target } from "./client.ts";
import { Tracker } from "./tracker.ts";
import type { Element } from "../../src/xml/element.ts";

const NODE = "urn:xmpp:avatar:metadata";
const NS_INFO = "http://jabber.org/protocol/disco#info";
const NS_EVENT = "http://jabber.org/protocol/pubsub#event";
const CAPS_NODE = "https://parley.bench/fanout";
const IDENTITY = "client/pc//fanout";
const FEATURES = [NS_INFO, "http://jabber.org/protocol/caps", NODE + "+notify"].sort();
/** XEP-0115 §5.1 verification string (one identity, no forms; ASCII sorts as i;octet). */
const VER = createHash("sha1").update(`${IDENTITY}<${FEATURES.map((f) => f + "<").join("")}`)
  .digest("base64");

export interface PepOptions {
  contacts: number;
  items: number;
  gapMs: number;
  window: number;
  seconds: number;
  concurrency: number;
  serverPid?: number;
}

function discoAnswer(e: Element): string {
  const q = e.getChild("query", NS_INFO);
  return `<iq type='result' id='${e.attrs.id}' to='${e.attrs.from}'>` +
    `<query xmlns='${NS_INFO}' node='${q?.attrs.node ?? ""}'>` +
    `<identity category='client' type='pc' name='fanout'/>` +
    FEATURES.map((f) => `<feature var='${f}'/>`).join("") + `</query></iq>`;
}

/** Mutual subscriptions pephub <-> pep1..pepN (idempotent). */
export async function setupPepRoster(t: Target, contacts: number, concurrency: number) {
  const hub = await BenchClient.login(t, "pephub", "setup");
  const hubJid = `pephub@${t.domain}`;
  hub.onStanza = (e) => {
    if (e.name === "presence" && e.attrs.type === "subscribe") {
      hub.send(`<presence type='subscribed' to='${e.attrs.from}'/>`);
    }
  };
  hub.send("<presence/>");
  const ids = Array.from({ length: contacts }, (_, i) => i + 1);
  const cs: BenchClient[] = [];
  await pool(ids, concurrency, async (i) => {
    const c = await BenchClient.login(t, `pep${i}`, "setup");
    c.onStanza = (e) => {
      if (e.name === "presence" && e.attrs.type === "subscribe") {
        c.send(
          `<presence type='subscribed' to='${hubJid}'/><presence type='subscribe' to='${hubJid}'/>`,
        );
      }
    };
    c.send("<presence/>");
    cs.push(c);
  });
  for (const i of ids) hub.send(`<presence type='subscribe' to='pep${i}@${t.domain}'/>`);
  let both = 0;
  for (let tries = 0; tries < 60 && both < contacts; tries++) {
    await new Promise((r) => setTimeout(r, 500));
    const r = await hub.iq(`<iq type='get' id='ID'><query xmlns='jabber:iq:roster'/></iq>`);
    both = r.findChild("query")?.getChildren("item").filter((x) => x.attrs.subscription === "both")
      .length ?? 0;
  }
  for (const c of [hub, ...cs]) c.close();
  if (both < contacts) throw new Error(`only ${both} of ${contacts} contacts are mutual`);
  return both;
}

export async function runPep(t: Target, o: PepOptions) {
  const hubJid = `pephub@${t.domain}`;
  const tracker = new Tracker(o.contacts);
  // Item ids unique to this run: the node keeps its last item across runs,
  // and contacts get it on login (last item on presence), so a reused id
  // would count deliveries from before its publish.
  const run = `p${Date.now().toString(36)}-`;
  let capsQueries = 0;
  const ids = Array.from({ length: o.contacts }, (_, i) => i + 1);
  const contacts: BenchClient[] = [];
  const t0 = performance.now();
  await pool(ids, o.concurrency, async (i) => {
    const c = await BenchClient.login(t, `pep${i}`);
    c.onStanza = (e) => {
      if (e.name === "iq" && e.attrs.type === "get" && e.getChild("query", NS_INFO)) {
        capsQueries++;
        c.send(discoAnswer(e));
      } else if (e.name === "message" && e.attrs.from === hubJid) {
        const item = e.getChild("event", NS_EVENT)?.getChild("items")?.getChild("item");
        if (item?.attrs.id?.startsWith(run)) tracker.hit(Number(item.attrs.id.slice(run.length)));
      }
    };
    c.send(
      `<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='${CAPS_NODE}' ver='${VER}'/></presence>`,
    );
    contacts.push(c);
  });
  const hub = await BenchClient.login(t, "pephub");
  const online = new Set<string>();
  hub.onStanza = (e) => {
    const bare = e.attrs.from?.split("/")[0] ?? "";
    if (e.name === "presence" && !e.attrs.type && bare !== hubJid) online.add(bare);
  };
  hub.send("<presence/>");
  for (let i = 0; i < 100 && online.size < o.contacts; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const loginSecs = (performance.now() - t0) / 1000;

  let failed = 0;
  const send = (k: number) => {
    hub.iq(
      `<iq type='set' id='ID'><pubsub xmlns='http://jabber.org/protocol/pubsub'>` +
        `<publish node='${NODE}'><item id='${run}${k}'><metadata xmlns='${NODE}'>` +
        `<info bytes='12345' id='${
          k.toString(16).padStart(40, "0")
        }' height='64' width='64' type='image/png'/>` +
        `</metadata></item></publish></pubsub></iq>`,
    ).then((r) => {
      if (r.attrs.type !== "result" && failed++ < 3) console.error("publish:", r.toString());
    }, () => failed++);
  };
  // The caps query happens during the warm-up.
  const { spaced, closed } = await tracker.measure(o.items, o, send);
  for (const c of [hub, ...contacts]) c.close();
  return {
    scenario: "pep",
    contacts: o.contacts,
    contactsOnlineSeenByHub: online.size,
    capsQueries,
    publishErrors: failed,
    loginSecs: Math.round(loginSecs * 10) / 10,
    spaced: { items: o.items, gapMs: o.gapMs, ...spaced },
    closed: { window: o.window, ...closed },
    shortfalls: tracker.shortfalls,
  };
}
