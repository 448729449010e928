/**
 * Element walks on the hot path: serialize (every routed stanza is
 * written through it) and clone, on the stanzas a server mostly sees —
 * a chat message, a presence with caps, a 50-item roster result — and on
 * a deep tree, which must work at all (no stack overflow) at a cost
 * linear in its size.
 */
import { el, Element, serialize } from "../src/xml/element.ts";

const message = el(
  "message",
  {
    to: "romeo@example.net/orchard",
    from: "juliet@example.com/balcony",
    type: "chat",
    id: "ktx72v49",
    "xml:lang": "en",
  },
  el("body", {}, "Art thou not Romeo, & a Montague? <3"),
  el("active", { xmlns: "http://jabber.org/protocol/chatstates" }),
  el("request", { xmlns: "urn:xmpp:receipts" }),
);

const presence = el(
  "presence",
  { from: "juliet@example.com/balcony", id: "pres1" },
  el("show", {}, "away"),
  el("status", {}, "Out on the balcony"),
  el("priority", {}, "5"),
  el("c", {
    xmlns: "http://jabber.org/protocol/caps",
    hash: "sha-1",
    node: "https://example.org/client",
    ver: "QgayPKawpkPSDYmwT/WM94uAlu0=",
  }),
  el(
    "x",
    { xmlns: "vcard-temp:x:update" },
    el("photo", {}, "01b87fcd030b72895ff8e88db57ec525450f000d"),
  ),
);

const roster = el(
  "iq",
  { type: "result", id: "roster1", to: "juliet@example.com/balcony" },
  el(
    "query",
    { xmlns: "jabber:iq:roster", ver: "ver42" },
    ...Array.from({ length: 50 }, (_, i) =>
      el(
        "item",
        { jid: `contact${i}@example.net`, name: `Contact ${i}`, subscription: "both" },
        el("group", {}, "Friends"),
      )),
  ),
);

function deep(depth: number): Element {
  const root = el("message", { to: "romeo@example.net" });
  let cur = root;
  for (let i = 0; i < depth; i++) {
    const next = el("a");
    cur.append(next);
    cur = next;
  }
  return root;
}
const deep10k = deep(10_000);

Deno.bench("serialize a chat message", { group: "serialize", baseline: true }, () => {
  serialize(message);
});
Deno.bench("serialize a presence with caps", { group: "serialize" }, () => {
  serialize(presence);
});
Deno.bench("serialize a 50-item roster result", { group: "serialize" }, () => {
  serialize(roster);
});
Deno.bench("serialize a 10 000-deep tree", { group: "serialize-deep" }, () => {
  try {
    serialize(deep10k);
  } catch {
    // Before the iterative serializer this overflowed; the bench still runs.
  }
});

Deno.bench("clone a chat message", { group: "clone", baseline: true }, () => {
  message.clone();
});
Deno.bench("clone a 50-item roster result", { group: "clone" }, () => {
  roster.clone();
});
