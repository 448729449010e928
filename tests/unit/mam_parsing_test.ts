/** The archive's parsers and rules, without a server: form, RSM, prefs, eligibility, stanza ids. */
import assert from "node:assert/strict";
import { parseElement } from "../../src/util/xml_fragment.ts";
import type { Element } from "../../src/xml/element.ts";
import { StanzaError } from "../../src/core/errors.ts";
import { parseDateTime, parseQueryForm } from "../../src/modules/mam/query_form.ts";
import { parseRsm } from "../../src/modules/mam/rsm.ts";
import { Prefs } from "../../src/modules/mam/prefs.ts";
import { archivable } from "../../src/modules/mam/eligibility.ts";
import { stanzaIdBy, stripStanzaIds } from "../../src/modules/mam/stanza_id.ts";
import { archivedBy, storeDecision } from "../../src/modules/offline.ts";

const xml = (s: string): Element => parseElement(s)!;
const MAM = "urn:xmpp:mam:2";

function query(fields: string, rsm = ""): Element {
  return xml(
    `<query xmlns='${MAM}'><x xmlns='jabber:x:data' type='submit'>${fields}</x>` +
      (rsm ? `<set xmlns='http://jabber.org/protocol/rsm'>${rsm}</set>` : "") + `</query>`,
  );
}
const field = (v: string, ...values: string[]) =>
  `<field var='${v}'>${values.map((x) => `<value>${x}</value>`).join("")}</field>`;

function condition(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof StanzaError) return e.condition;
    throw e;
  }
  return "none";
}

Deno.test("mam form: fields parsed, with made bare, ids de-duplicated", () => {
  const f = parseQueryForm(
    query(
      field("FORM_TYPE", MAM) + field("with", "Juliet@Capulet.lit/balcony") +
        field("start", "2010-06-07T00:00:00Z") + field("end", "2010-07-07T13:23:54.123456+02:00") +
        field("after-id", "a") + field("before-id", "b") + field("ids", "x", "y", "x"),
    ),
    10,
  );
  assert.equal(f.with, "juliet@capulet.lit");
  assert.equal(f.start, Date.UTC(2010, 5, 7));
  assert.equal(f.end, Date.UTC(2010, 6, 7, 11, 23, 54, 123));
  assert.equal(f.afterId, "a");
  assert.equal(f.beforeId, "b");
  assert.deepEqual(f.ids, ["x", "y"]);
  // No form: everything; empty values: absent.
  assert.deepEqual(parseQueryForm(xml(`<query xmlns='${MAM}'/>`), 10), {});
  assert.deepEqual(parseQueryForm(query(field("with") + field("start", "")), 10), {});
});

Deno.test("mam form: bad input is refused with the XEP's conditions", () => {
  const c = (fields: string, maxIds = 3) => condition(() => parseQueryForm(query(fields), maxIds));
  assert.equal(c(field("FORM_TYPE", "urn:xmpp:mam:1")), "bad-request");
  assert.equal(c(field("start", "2010-06-07")), "bad-request");
  assert.equal(c(field("start", "2010-13-45T00:00:00Z")), "bad-request");
  assert.equal(c(field("end", "now")), "bad-request");
  assert.equal(c(field("with", "a@b@c")), "bad-request");
  assert.equal(c(field("with", "a@b", "c@d")), "bad-request");
  assert.equal(c(field("with", "a@b") + field("with", "c@d")), "bad-request");
  assert.equal(c(field("ids", "1", "2", "3", "4")), "bad-request");
  assert.equal(c(field("ids", "")), "bad-request");
  assert.equal(c(field("after-id", "x".repeat(257))), "bad-request");
  assert.equal(c(Array.from({ length: 17 }, (_, i) => field(`f${i}`)).join("")), "bad-request");
  assert.equal(c(field("include-groupchat", "true")), "feature-not-implemented");
  assert.equal(c(field("{urn:example}search", "x")), "feature-not-implemented");
});

Deno.test("mam form: XEP-0082 DateTime", () => {
  assert.equal(parseDateTime("1969-07-21T02:56:15Z"), Date.UTC(1969, 6, 21, 2, 56, 15));
  assert.equal(parseDateTime("1969-07-20T21:56:15-05:00"), Date.UTC(1969, 6, 21, 2, 56, 15));
  assert.equal(parseDateTime("1969-07-21T02:56:15.5Z"), Date.UTC(1969, 6, 21, 2, 56, 15, 500));
  assert.equal(parseDateTime("1969-07-21 02:56:15Z"), undefined);
  assert.equal(parseDateTime("1969-07-21T02:56:15"), undefined);
});

Deno.test("rsm: max, after, before (empty = last page), index; bad combinations", () => {
  const r = (set: string) => parseRsm(query("", set));
  assert.deepEqual(r("<max>10</max><after>x</after>"), { max: 10, after: "x" });
  assert.deepEqual(r("<max>0</max><before/>"), { max: 0, before: "" });
  assert.deepEqual(r("<before>y</before>"), { before: "y" });
  assert.deepEqual(r("<index>7</index><max>5</max>"), { index: 7, max: 5 });
  assert.deepEqual(parseRsm(xml(`<query xmlns='${MAM}'/>`)), {});
  const c = (set: string) => condition(() => r(set));
  assert.equal(c("<max>ten</max>"), "bad-request");
  assert.equal(c("<max>-1</max>"), "bad-request");
  assert.equal(c("<max>1234567890</max>"), "bad-request");
  assert.equal(c("<after/>"), "bad-request");
  assert.equal(c("<after>a</after><before>b</before>"), "bad-request");
  assert.equal(c("<index>1</index><after>a</after>"), "bad-request");
  assert.equal(c(`<before>${"z".repeat(300)}</before>`), "bad-request");
});

Deno.test("prefs: parse, decide (never wins), JSON round trip, bounds", () => {
  const p = Prefs.parse(xml(
    `<prefs xmlns='${MAM}' default='roster'><always><jid>A@x</jid><jid>b@x</jid></always>` +
      `<never><jid>b@x</jid><jid>c@x/r</jid></never></prefs>`,
  ));
  assert.equal(p.decide("a@x", "a@x/r"), "yes");
  assert.equal(p.decide("b@x", "b@x"), "no");
  assert.equal(p.decide("c@x", "c@x/r"), "no");
  assert.equal(p.decide("c@x", "c@x/other"), "roster");
  const back = Prefs.fromJson(p.toJson(), "always");
  assert.deepEqual(back.toElement().toString(), p.toElement().toString());
  assert.equal(Prefs.fromJson(undefined, "never").defaultPref, "never");
  assert.equal(Prefs.fromJson({ default: "bogus" }, "roster").defaultPref, "roster");
  const c = (s: string) => condition(() => Prefs.parse(xml(s)));
  assert.equal(c(`<prefs xmlns='${MAM}'/>`), "bad-request");
  assert.equal(
    c(`<prefs xmlns='${MAM}' default='always'><never><jid>@@</jid></never></prefs>`),
    "jid-malformed",
  );
  const many = Array.from({ length: 1001 }, (_, i) => `<jid>u${i}@x</jid>`).join("");
  assert.equal(
    c(`<prefs xmlns='${MAM}' default='always'><always>${many}</always></prefs>`),
    "policy-violation",
  );
});

Deno.test("eligibility: chat/normal with content; hints; not chat states alone", () => {
  const m = (type: string, inner: string) =>
    archivable(xml(`<message type='${type}'>${inner}</message>`));
  assert.equal(m("chat", "<body>hi</body>"), true);
  assert.equal(m("normal", "<body>hi</body>"), true);
  assert.equal(m("bogus", "<body>hi</body>"), true); // unknown type is normal
  assert.equal(m("groupchat", "<body>hi</body>"), false);
  assert.equal(m("headline", "<body>hi</body>"), false);
  assert.equal(m("error", "<body>hi</body>"), false);
  assert.equal(
    m("chat", "<active xmlns='http://jabber.org/protocol/chatstates'/><thread>t</thread>"),
    false,
  );
  assert.equal(m("chat", "<encrypted xmlns='eu.siacs.conversations.axolotl'/>"), true);
  assert.equal(m("chat", "<body>x</body><no-store xmlns='urn:xmpp:hints'/>"), false);
  assert.equal(m("chat", "<body>x</body><no-permanent-store xmlns='urn:xmpp:hints'/>"), false);
  assert.equal(
    m(
      "chat",
      "<store xmlns='urn:xmpp:hints'/><gone xmlns='http://jabber.org/protocol/chatstates'/>",
    ),
    true,
  );
  assert.equal(m("chat", "<origin-id xmlns='urn:xmpp:sid:0' id='1'/>"), false);
  assert.equal(m("normal", "<result xmlns='urn:xmpp:mam:2'/>"), false);
});

Deno.test("stanza ids: only those by the named archive are stripped (prepared comparison)", () => {
  const msg = xml(
    `<message><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='Bob@Example.org' id='1'/>` +
      `<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc.example.org' id='2'/>` +
      `<origin-id xmlns='urn:xmpp:sid:0' id='3'/></message>`,
  );
  assert.equal(stanzaIdBy(msg, "bob@example.org"), "1");
  stripStanzaIds(msg, "bob@example.org");
  assert.equal(stanzaIdBy(msg, "bob@example.org"), undefined);
  assert.equal(stanzaIdBy(msg, "room@muc.example.org"), "2");
  assert.equal(msg.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id, "3");
});

Deno.test("offline: MAM results are never stored; archived copies are recognised", () => {
  const result = xml(
    `<message><result xmlns='${MAM}' id='1'><forwarded xmlns='urn:xmpp:forward:0'/></result></message>`,
  );
  assert.equal(storeDecision(result), "drop");
  const m = xml(
    `<message><body>x</body><stanza-id xmlns='urn:xmpp:sid:0' by='a@x' id='1'/></message>`,
  );
  assert.equal(archivedBy(m, "a@x"), true);
  assert.equal(archivedBy(m, "b@x"), false);
});
