import assert from "node:assert/strict";
import { Jid, jidProblem, parseJid, prepDomain, prepLocal, prepResource } from "../../src/jid.ts";

Deno.test("parses the three parts", () => {
  const j = parseJid("juliet@example.com/balcony")!;
  assert.equal(j.local, "juliet");
  assert.equal(j.domain, "example.com");
  assert.equal(j.resource, "balcony");
  assert.equal(j.bare, "juliet@example.com");
  assert.equal(j.full, "juliet@example.com/balcony");
  assert.equal(String(j), j.full);
  assert.equal(j.isBare(), false);
  const d = parseJid("example.com")!;
  assert.equal(d.local, undefined);
  assert.equal(d.resource, undefined);
  assert.ok(d.isBare());
  assert.equal(parseJid("example.com/res")?.full, "example.com/res");
});

Deno.test("the resource may contain '@' and '/'", () => {
  const j = parseJid("a@example.com/b@c/d")!;
  assert.equal(j.local, "a");
  assert.equal(j.resource, "b@c/d");
  // The first '/' comes before any '@', so there is no localpart.
  const k = parseJid("example.com/x@y")!;
  assert.equal(k.local, undefined);
  assert.equal(k.domain, "example.com");
  assert.equal(k.resource, "x@y");
});

Deno.test("normalises case, width, trailing dot and Unicode form", () => {
  assert.equal(parseJid("Juliet@Example.COM./Balcony")?.full, "juliet@example.com/Balcony");
  // Decomposed é (e + U+0301) composes to U+00E9.
  assert.equal(prepLocal("Ame\u0301lie"), "am\u00e9lie");
  assert.equal(prepResource("e\u0301"), "\u00e9");
  assert.equal(prepLocal("\uff21\uff42"), "ab"); // fullwidth letters
  assert.equal(prepDomain("b\u00fccher.example"), "b\u00fccher.example");
  assert.equal(prepDomain("example\u3002com"), "example.com");
  assert.equal(prepResource("a\u00a0b"), "a b");
  assert.equal(prepDomain("[::1]"), "[::1]");
  assert.equal(prepDomain("[2001:DB8:0:0::1]"), "[2001:db8::1]");
  assert.ok(parseJid("A@B/c")!.equals(parseJid("a@b/c")!));
  assert.ok(!parseJid("a@b/C")!.equals(parseJid("a@b/c")!));
});

Deno.test("rejects invalid JIDs", () => {
  const bad = [
    "",
    "@example.com",
    "a@",
    "a@/r",
    "example.com/",
    "a@example.com/",
    "a b@example.com",
    'a"b@example.com',
    "a&b@example.com",
    "a'b@example.com",
    "a:b@example.com",
    "a<b@example.com",
    "a>b@example.com",
    "a\u0001@example.com",
    "a@exa mple.com",
    "a@exa<mple.com",
    "a@example..com",
    "a@.example.com",
    "a@example.com..",
    "a@" + "x".repeat(64) + ".com",
    "a@[::1",
    "a@[not-ip]",
    "x".repeat(1024) + "@example.com",
    "a@example.com/" + "r".repeat(1024),
    "a@example.com/r\u0000",
    "a@example.com/line\nbreak",
    "\u00e9".repeat(512) + "@example.com", // 1024 bytes of UTF-8
  ];
  for (const s of bad) assert.equal(parseJid(s), undefined, JSON.stringify(s));
  assert.ok(parseJid("x".repeat(1023) + "@example.com"));
  assert.ok(parseJid("a@" + "x".repeat(63) + ".com"));
});

Deno.test("withResource", () => {
  const j = parseJid("a@b/c")!;
  assert.equal(j.withResource("d").full, "a@b/d");
  assert.equal(j.withResource(undefined).full, "a@b");
  assert.equal(j.withResource("e\u0301").resource, "\u00e9");
  assert.throws(() => j.withResource(""), RangeError);
  const bare = new Jid("a", "b");
  assert.equal(bare.withResource(undefined), bare);
});

Deno.test("the cache returns equal results and stays bounded", () => {
  const a = parseJid("Cache@Example.com/R");
  const b = parseJid("Cache@Example.com/R");
  assert.equal(a, b); // same instance from the cache
  assert.equal(a?.full, "cache@example.com/R");
  assert.equal(parseJid("bad@"), undefined);
  assert.equal(parseJid("bad@"), undefined); // cached as invalid
  // Far more distinct JIDs than the cache holds: every result is still right.
  for (let i = 0; i < 25000; i++) {
    assert.equal(parseJid(`U${i}@example.com`)?.bare, `u${i}@example.com`);
  }
  assert.equal(parseJid("Cache@Example.com/R")?.full, "cache@example.com/R");
  assert.equal(parseJid("bad@"), undefined);
});

Deno.test("jidProblem says why a JID is invalid, part by part", () => {
  const cases: [string, string | undefined][] = [
    ["alice@example.org/phone", undefined],
    ["@example.org", "empty localpart"],
    ["a b@example.org", "forbidden character space (U+0020) in localpart"],
    ['a"b@example.org', "forbidden character '\"' (U+0022) in localpart"],
    ["a@b@example.org", "forbidden character '@' (U+0040) in domainpart"],
    ["x".repeat(1024) + "@example.org", "localpart longer than 1023 bytes"],
    ["alice@", "empty domainpart"],
    ["alice@exa..mple", "empty label in domainpart (two dots in a row?)"],
    [
      "alice@" + "d".repeat(64) + ".org",
      `domain label longer than 63 characters ("${"d".repeat(20)}…")`,
    ],
    ["alice@" + "d.".repeat(600) + "org", "domainpart longer than 1023 bytes"],
    ["alice@[::zz]", "invalid IPv6 address literal"],
    ["alice@example.org/", "empty resourcepart"],
    ["alice@example.org/a\u0007", "forbidden character U+0007 in resourcepart"],
  ];
  for (const [jid, why] of cases) {
    assert.equal(jidProblem(jid), why, jid.slice(0, 40));
    assert.equal(parseJid(jid) === undefined, why !== undefined, jid.slice(0, 40));
  }
});
