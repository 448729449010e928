import assert from "node:assert/strict";
import { EventStreams } from "../../src/http/status/events.ts";

Deno.test("status events: at most 32 live views; a closed one frees its place", async () => {
  const streams = new EventStreams(60, () => ({ sessions: 0 }));
  const exp = Date.now() + 60_000;
  try {
    const views: ReadableStream<Uint8Array>[] = [];
    for (let i = 0; i < 32; i++) {
      const view = streams.open(exp);
      assert.ok(view, `view ${i + 1}`);
      views.push(view);
    }
    assert.equal(streams.size, 32);
    assert.equal(streams.open(exp), undefined, "the 33rd is refused");
    // The first view got the retry hint and a snapshot at once.
    const reader = views[0].getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /^retry: 60000\n\n/);
    await reader.cancel();
    assert.equal(streams.size, 31);
    assert.ok(streams.open(exp), "a place freed by the closed view");
  } finally {
    streams.closeAll();
  }
  assert.equal(streams.size, 0);
});
