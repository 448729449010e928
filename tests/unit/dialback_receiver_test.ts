import assert from "node:assert/strict";
import { DialbackReceiver, MAX_PAIRS_PER_STREAM } from "../../src/s2s/in/dialback.ts";
import type { DialbackHost } from "../../src/s2s/in/dialback.ts";
import { el } from "../../src/xml/element.ts";
import { DialbackKeys } from "../../src/s2s/dialback_key.ts";

Deno.test("dialback: one stream authenticates at most MAX_PAIRS_PER_STREAM domain pairs", () => {
  const written: string[] = [];
  const pairs = new Set<string>();
  const host: DialbackHost = {
    isLocalDomain: (d) => d === "local.test" || d.endsWith(".comp.local.test"),
    verifyDialback: () => Promise.resolve("valid"),
    keys: new DialbackKeys(),
    write: (d) => void written.push(d),
    peerName: () => "peer.test",
    streamId: () => "s1",
    closed: () => false,
    pairs,
    tlsRequired: () => false,
    // A wildcard certificate: every subdomain is proven at once, no round trip.
    certValidFor: () => true,
    dialbackAllowed: () => true,
    proven: (from, to) => void pairs.add(from + " " + to),
    offerRoutes: () => {},
    keyChecked: () => {},
    onError: (err) => {
      throw err;
    },
  };
  const receiver = new DialbackReceiver(host);
  const result = (n: number) =>
    el("db:result", { from: `d${n}.peer.test`, to: `x${n}.comp.local.test` }, "key");
  for (let n = 0; n < MAX_PAIRS_PER_STREAM; n++) receiver.onResult(result(n));
  assert.equal(pairs.size, MAX_PAIRS_PER_STREAM);
  assert.ok(written.every((w) => w.includes("type='valid'")));
  receiver.onResult(result(MAX_PAIRS_PER_STREAM));
  assert.equal(pairs.size, MAX_PAIRS_PER_STREAM, "no pair past the cap");
  assert.match(written.at(-1)!, /type='error'/);
  assert.match(written.at(-1)!, /resource-constraint/);
  // A pair already proven is still answered.
  receiver.onResult(result(0));
  assert.match(written.at(-1)!, /type='valid'/);
});
