/**
 * What the output filter hook (Session.filter, for client state
 * indication) costs a session that does not use it: `session.send`
 * against writing to its outbox directly, same run, same stanza
 * (serialized to a stub connection that counts bytes).
 */
import { Session } from "../src/core/session.ts";
import { XmlStreamTransport } from "../src/stream/xml_stream.ts";
import type { Connection } from "../src/net/connection.ts";
import { el } from "../src/xml/element.ts";

let written = 0;
const stubConnection = {
  remoteAddress: "127.0.0.1",
  remotePort: 1,
  localPort: 5222,
  tls: { protocol: "TLSv1.3" },
  closed: false,
  start() {},
  write(data: string) {
    written += data.length;
  },
  written: 0,
  pending: 0,
  writable: () => Promise.resolve(),
  authenticated() {},
  pause() {},
  resume() {},
  startTls: () => Promise.resolve(),
  close() {},
} as Connection;

const session = new Session("s1", {
  transport: new XmlStreamTransport(stubConnection),
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
