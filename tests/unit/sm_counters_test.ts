import assert from "node:assert/strict";
import { Outbox } from "../../src/core/outbox.ts";
import { Session } from "../../src/core/session.ts";
import { el } from "../../src/xml/element.ts";
import { parseH } from "../../src/modules/stream_management/protocol.ts";

const WRAP = 2 ** 32;
const msg = (n: number) => el("message", { id: "m" + n }, el("body", {}, String(n)));

Deno.test("outbox: acks count across the 2^32 wrap", () => {
  const seen: number[] = [];
  const outbox = new Outbox({ ackBase: WRAP - 3 });
  outbox.enableAcks({ kept: (n) => seen.push(n) });
  for (let i = 0; i < 6; i++) outbox.send(msg(i));
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  assert.equal(outbox.unackedCount, 6);
  // Six sent after WRAP - 3: the client's count is now 3 (wrapped).
  assert.equal(outbox.keptCount, 3);
  // h = 2^32 - 1: two of the six handled.
  assert.equal(outbox.ack(WRAP - 1), "ok");
  assert.equal(outbox.unackedCount, 4);
  // h = 1 (wrapped): four handled in all.
  assert.equal(outbox.ack(1), "ok");
  assert.equal(outbox.unackedCount, 2);
  assert.deepEqual(outbox.takeUnacked().map((m) => m.attrs.id), ["m4", "m5"]);
});

Deno.test("outbox: an h beyond what was sent, across the wrap, is too high and changes nothing", () => {
  const outbox = new Outbox({ ackBase: WRAP - 2 });
  outbox.enableAcks();
  for (let i = 0; i < 3; i++) outbox.send(msg(i));
  // Sent count is 1 (wrapped); 2 is one more than sent.
  assert.equal(outbox.ack(2), "too-high");
  assert.equal(outbox.unackedCount, 3);
  // An h "behind" the last ack counts as far ahead after the wrap: too high.
  assert.equal(outbox.ack(WRAP - 3), "too-high");
  assert.equal(outbox.ack(1), "ok");
  assert.equal(outbox.unackedCount, 0);
  // Acking the same count again is fine (nothing new handled).
  assert.equal(outbox.ack(1), "ok");
});

Deno.test("outbox: nonzas are neither counted nor kept", () => {
  const outbox = new Outbox();
  outbox.enableAcks();
  outbox.send(msg(1));
  outbox.send(el("r", { xmlns: "urn:xmpp:sm:3" }));
  outbox.send(msg(2));
  assert.equal(outbox.unackedCount, 2);
  assert.equal(outbox.keptCount, 2);
});

Deno.test("session: the received-stanza counter wraps at 2^32", () => {
  const session = new Session("s1");
  session.received = WRAP - 2;
  session.countReceived();
  assert.equal(session.received, WRAP - 1);
  session.countReceived();
  assert.equal(session.received, 0);
  session.countReceived();
  assert.equal(session.received, 1);
});

Deno.test("sm: h parses as an unsigned 32-bit integer only", () => {
  assert.equal(parseH("0"), 0);
  assert.equal(parseH("4294967295"), WRAP - 1);
  assert.equal(parseH("4294967296"), undefined);
  assert.equal(parseH("-1"), undefined);
  assert.equal(parseH("1e3"), undefined);
  assert.equal(parseH(""), undefined);
  assert.equal(parseH(undefined), undefined);
});
