/**
 * Parser and serializer throughput on typical stanzas. Each parse
 * iteration writes one chunk holding many stanzas to an open stream, the
 * way a busy connection delivers them.
 */
import { XmlFrameParser } from "../src/xml/parser.ts";
import { el, serialize } from "../src/xml/element.ts";

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' version='1.0'>";

// ~260 B: a chat message with entities, a chat state and a receipt request.
const MESSAGE = "<message to='romeo@example.net/orchard' from='juliet@example.com/balcony' " +
  "type='chat' id='ktx72v49'><body>Art thou not Romeo, &amp; a Montague? &lt;3</body>" +
  "<active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/></message>";
// ~350 B: presence with entity capabilities and a vCard avatar hash.
const PRESENCE = "<presence from='juliet@example.com/balcony' id='pres1'><show>away</show>" +
  "<status>Out on the balcony</status><priority>5</priority>" +
  "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://example.org/client' " +
  "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/><x xmlns='vcard-temp:x:update'>" +
  "<photo>01b87fcd030b72895ff8e88db57ec525450f000d</photo></x></presence>";

const PER_CHUNK = 16;
const messages = MESSAGE.repeat(PER_CHUNK);
const presences = PRESENCE.repeat(PER_CHUNK);

function openParser(): { p: XmlFrameParser; count: () => number } {
  let n = 0;
  const p = new XmlFrameParser((f) => {
    if (f.kind === "stanza") n++;
    else if (f.kind !== "open") throw new Error(JSON.stringify(f));
  });
  p.write(HEADER);
  return { p, count: () => n };
}

const m = openParser();
Deno.bench(`parse ${PER_CHUNK} messages (${MESSAGE.length} B each)`, { group: "parse" }, () => {
  m.p.write(messages);
});

const pr = openParser();
Deno.bench(`parse ${PER_CHUNK} presences (${PRESENCE.length} B each)`, { group: "parse" }, () => {
  pr.p.write(presences);
});

const message = el(
  "message",
  {
    to: "romeo@example.net/orchard",
    from: "juliet@example.com/balcony",
    type: "chat",
    id: "ktx72v49",
  },
  el("body", {}, "Art thou not Romeo, & a Montague? <3"),
  el("active", { xmlns: "http://jabber.org/protocol/chatstates" }),
);
Deno.bench("serialize a message", { group: "serialize" }, () => {
  serialize(message);
});
