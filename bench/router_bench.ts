/**
 * Router hot path: a bound client's message to a full JID and to a bare
 * JID, from stamping to the recipient's serialized write, in process
 * (connections are stubs that count bytes).
 */
import { stubConnection } from "../tests/helpers/stub_connection.ts";
import { Host } from "../src/core/host.ts";
import { Router } from "../src/core/router.ts";
import { SessionRegistry } from "../src/core/sessions.ts";
import { Session } from "../src/core/session.ts";
import { XmlStreamTransport } from "../src/stream/xml_stream.ts";
import { installDelivery } from "../src/core/delivery.ts";
import { el, type Element } from "../src/xml/element.ts";
import { countStanzaIn, countStanzaOut } from "../src/metrics/counters.ts";

let written = 0;
const conn = stubConnection((data) => {
  written += data.length;
}, { localPort: 5222, tls: { protocol: "TLSv1.3" } });

const host = new Host({ domain: "localhost", modules: [], admins: [] });
const hosts = new Map([["localhost", host]]);
const router = new Router(hosts);
const sessions = new SessionRegistry({
  conflict: "replace",
  maxResourcesPerUser: 16,
  dispatch: (s, st) => router.fromClient(s, st),
});
sessions.addHost("localhost", host.events);
installDelivery(host, { router, sessions });

function bound(user: string, resource: string): Session {
  const s = new Session(user + resource, {
    transport: new XmlStreamTransport(conn),
    close() {},
    adopt() {},
  });
  s.type = "c2s";
  s.host = "localhost";
  s.username = user;
  sessions.bind(s, resource);
  s.presence = el("presence");
  return s;
}

const alice = bound("alice", "phone");
bound("bob", "laptop");
bound("bob", "phone");

function message(to: string): Element {
  return el(
    "message",
    { to, type: "chat", id: "m1" },
    el("body", {}, "Art thou not Romeo, & a Montague?"),
    el("active", { xmlns: "http://jabber.org/protocol/chatstates" }),
  );
}

Deno.bench("route message to a full JID", () => {
  router.fromClient(alice, message("bob@localhost/laptop"));
});

// The c2s hot path also counts each stanza in for /metrics (one call, a
// number increment); compare with the case above: the difference is noise.
Deno.bench("route message to a full JID, counted in as c2s does", () => {
  const stanza = message("bob@localhost/laptop");
  countStanzaIn(stanza.name);
  router.fromClient(alice, stanza);
});

Deno.bench("route message to a bare JID (2 resources)", () => {
  router.fromClient(alice, message("bob@localhost"));
});

// What /metrics adds per routed stanza on its own: one count in, one out.
Deno.bench("metrics: count one stanza in and one out", () => {
  countStanzaIn("message");
  countStanzaOut("message");
});

globalThis.addEventListener("unload", () => {
  if (written === 0) throw new Error("nothing was delivered");
});
