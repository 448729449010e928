/**
 * What the output filter hook (Session.filter, for client state
 * indication) costs a session that does not use it: `session.send`
 * against writing to its outbox directly, same run, same stanza
 * (serialized to a stub connection that counts bytes).
 */
import { stubConnection } from "../tests/helpers/stub_connection.ts";
import { Session } from "../src/core/session.ts";
import { XmlStreamTransport } from "../src/stream/xml_stream.ts";
import { el } from "../src/xml/element.ts";

let written = 0;
const conn = stubConnection((data) => {
  written += data.length;
}, { localPort: 5222, tls: { protocol: "TLSv1.3" } });

const session = new Session("s1", {
  transport: new XmlStreamTransport(conn),
  close() {},
  adopt() {},
});
const message = el(
  "message",
  { from: "alice@localhost/phone", to: "bob@localhost/laptop", type: "chat", id: "m1" },
  el("body", {}, "Art thou not Romeo, & a Montague?"),
);

// Whichever runs first pays the JIT warm-up: a throwaway round first.
Deno.bench("warm-up", { group: "warm-up" }, () => {
  session.send(message);
  session.outbox.send(message);
});

Deno.bench("session.send (filter unset)", { group: "send" }, () => {
  session.send(message);
});

Deno.bench("outbox.send (no hook)", { group: "send", baseline: true }, () => {
  session.outbox.send(message);
});

globalThis.addEventListener("unload", () => {
  if (written === 0) throw new Error("nothing written");
});
