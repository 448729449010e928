import assert from "node:assert/strict";
import { CapsCache, MAX_NOTIFY_FEATURES } from "../../src/modules/pubsub/pep/caps_cache.ts";
import { capsVer } from "../../src/modules/caps.ts";
import { el, type Element } from "../../src/xml/element.ts";

const INFO = "http://jabber.org/protocol/disco#info";
const identity = { category: "client", type: "pc", name: "t" };

function answer(features: string[]): Element {
  return el(
    "iq",
    { type: "result" },
    el(
      "query",
      { xmlns: INFO },
      el("identity", identity),
      ...features.map((v) => el("feature", { var: v })),
    ),
  );
}

const caps = (ver: string, hash = "sha-1") =>
  el("c", { xmlns: "http://jabber.org/protocol/caps", hash, node: "n", ver });

Deno.test("caps cache: one query per unknown ver, verified answers shared, bounded", async () => {
  const asked: string[] = [];
  const replies = new Map<string, string[]>();
  const cache = new CapsCache({
    maxEntries: 2,
    maxPending: 1,
    query: (jid, node) => {
      asked.push(jid + " " + node);
      return Promise.resolve(answer(replies.get(jid) ?? []));
    },
  });
  const fa = ["x+notify"];
  const va = capsVer([identity], fa);
  replies.set("a@h/1", fa);
  const first = cache.features(caps(va), "a@h/1");
  assert.ok(first instanceof Promise);
  // The same ver again while pending: the same query, not a second one.
  const again = cache.features(caps(va), "a@h/2");
  assert.equal(again, first);
  assert.deepEqual([...(await first)], fa);
  assert.deepEqual(asked, [`a@h/1 n#${va}`]);
  // Cached: answered at once for anyone announcing it.
  const hit = cache.features(caps(va), "b@h/1");
  assert.ok(!(hit instanceof Promise));
  assert.deepEqual([...hit], fa);

  // A lying answer (features not matching the ver) is kept for that JID only.
  const vb = capsVer([identity], ["y+notify"]);
  replies.set("liar@h/1", ["evil+notify"]);
  assert.deepEqual([...(await cache.features(caps(vb), "liar@h/1"))], ["evil+notify"]);
  replies.set("c@h/1", ["y+notify"]);
  const honest = cache.features(caps(vb), "c@h/1");
  assert.ok(honest instanceof Promise, "not served from the liar's answer");
  assert.deepEqual([...(await honest)], ["y+notify"]);

  // Bounded: at most maxEntries vers kept; at most maxPending in flight.
  assert.ok(cache.size <= 2);
  const p1 = cache.features(caps("v1"), "d@h/1");
  const p2 = cache.features(caps("v2"), "d@h/2");
  assert.ok(p1 instanceof Promise);
  assert.ok(!(p2 instanceof Promise) && p2.size === 0, "over the pending limit: no features");
  await p1;
  assert.equal(cache.pending, 0);
});

Deno.test("caps cache: an answer with duplicate features is not shared under the ver (XEP-0115 §5.4)", async () => {
  const fa = ["x+notify"];
  const va = capsVer([identity], fa);
  const replies = new Map<string, string[]>([
    ["dup@h/1", ["x+notify", "x+notify"]],
    ["ok@h/1", fa],
  ]);
  const cache = new CapsCache({
    maxEntries: 10,
    maxPending: 10,
    query: (jid) => Promise.resolve(answer(replies.get(jid) ?? [])),
  });
  await cache.features(caps(va), "dup@h/1");
  const other = cache.features(caps(va), "ok@h/1");
  assert.ok(other instanceof Promise, "not served from the invalid answer");
  assert.deepEqual([...(await other)], fa);
});

Deno.test("caps cache: only +notify features kept, bounded in number and in total size", async () => {
  const many = Array.from({ length: 1000 }, (_, i) => `urn:x:${i}+notify`);
  const cache = new CapsCache({
    maxEntries: 100,
    maxPending: 10,
    maxChars: 20_000,
    query: () => Promise.resolve(answer(["urn:plain", ...many])),
  });
  const f = await cache.features(caps("v0"), "a@h/0");
  assert.ok(!f.has("urn:plain"));
  assert.equal(f.size, MAX_NOTIFY_FEATURES);
  for (let i = 1; i < 10; i++) await cache.features(caps("v" + i), `a@h/${i}`);
  assert.ok(cache.chars <= 20_000, `chars ${cache.chars}`);
  assert.ok(cache.size < 10);
});

Deno.test("caps cache: a liar's answer to a query others wait on does not become theirs", async () => {
  const fy = ["y+notify"];
  const ver = capsVer([identity], fy);
  const replies = new Map<string, string[]>([["liar@h/1", ["evil+notify"]], ["c@h/1", fy]]);
  const cache = new CapsCache({
    maxEntries: 10,
    maxPending: 10,
    query: (jid) => Promise.resolve(answer(replies.get(jid) ?? [])),
  });
  const liar = cache.featuresOf(caps(ver), "liar@h/1");
  const honest = cache.featuresOf(caps(ver), "c@h/1"); // while the liar's query is in flight
  assert.deepEqual([...(await liar)], ["evil+notify"]);
  assert.deepEqual([...(await honest)], fy);
});
