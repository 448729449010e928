/**
 * A BOSH session's output past its bound belongs to offline storage
 * (C2sStream.onOverflow): no answer may carry it too, not even one for
 * a request held while the burst that overflowed was queued.
 */
import assert from "node:assert/strict";
import { BoshSession } from "../../src/http/bosh/session.ts";
import type { FrameSink } from "../../src/stream/transport.ts";

Deno.test("bosh output: a burst past the bound in one turn does not leave on a held request", async () => {
  const session = new BoshSession({
    sid: "s",
    remoteAddress: "127.0.0.1",
    secure: true,
    wait: 60,
    hold: 1,
    inactivity: 60,
    maxPause: 0,
    acks: false,
    maxQueuedElements: 16,
    onEnd() {},
    onAuthenticated() {},
  }, 1);
  let overflows = 0;
  const sink: FrameSink = {
    onFrame() {},
    onError() {},
    onClose() {},
    onOverflow: () => overflows++,
  };
  session.start(sink, { maxOutputBytes: 0, maxStanzaSize: 65536, maxStanzaDepth: 16 });
  const first = session.request(1, { attrs: { to: "localhost" }, xmpp: {}, elements: [] });
  session.send("<stream:features/>");
  await first;
  const held = session.request(2, { attrs: {}, xmpp: {}, elements: [] });
  await Promise.resolve();
  // One synchronous burst: the flush is queued before the overflow is heard.
  for (let i = 0; i < 20; i++) session.send(`<message id='m${i}'/>`);
  assert.equal(overflows, 1);
  // Nothing past the bound is kept: more output does not grow the queue.
  const pending = session.pending;
  for (let i = 0; i < 100; i++) session.send(`<message id='x${i}'/>`);
  assert.equal(session.pending, pending);
  assert.equal(overflows, 1);
  await new Promise((r) => setTimeout(r, 0));
  session.close("<stream:error/>");
  const answer = await held;
  assert.doesNotMatch(answer, /<message/);
  assert.match(answer, /stream:error/);
});
