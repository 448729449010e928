import assert from "node:assert/strict";
import { InFlight } from "../../src/stream/in_flight.ts";

Deno.test("InFlight: synchronous work is not counted; past the limit the caller waits until one settles", async () => {
  const inFlight = new InFlight(3);
  assert.equal(inFlight.track(undefined), undefined);
  const gates = [0, 1, 2].map(() => Promise.withResolvers<void>());
  assert.equal(inFlight.track(gates[0].promise), undefined);
  assert.equal(inFlight.track(gates[1].promise), undefined);
  const wait = inFlight.track(gates[2].promise);
  assert.ok(wait instanceof Promise, "the third reaches the limit");
  let resumed = false;
  void wait.then(() => resumed = true);
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(resumed, false);
  gates[1].resolve();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(resumed, true);
  assert.equal(inFlight.count, 2);
  gates[0].resolve();
  gates[2].resolve();
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(inFlight.count, 0);
});
