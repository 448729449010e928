/** The Prosody data reader: Lua literals only, never code; bounded. */
import assert from "node:assert/strict";
import {
  LuaSyntaxError,
  LuaTable,
  parseLuaItems,
  parseLuaReturn,
  utf8Text,
} from "../../src/cli/import_prosody_lua.ts";
import { decodeProsodyName } from "../../src/cli/import_prosody_read.ts";
import { accountFromLua, elementFromLua } from "../../src/cli/import_prosody_map.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("Prosody .dat: tables, keys of every kind, escapes, numbers", () => {
  const v = parseLuaReturn(bytes(`-- a comment
return {
	[false] = { ["version"] = 2; };
	["quote\\"d"] = "line\\
two\\tand \\195\\188 \\x41 \\u{263A}";
	bare_name = -1.5e2, [7] = (1/0); "first"; 'second';
	long = [==[raw ]] text]==];
};`));
  assert.ok(v instanceof LuaTable);
  assert.equal((v.get(false) as LuaTable).get("version"), 2);
  assert.equal(utf8Text(v.get('quote"d') as string), "line\ntwo\tand ü A ☺");
  assert.equal(v.get("bare_name"), -150);
  assert.deepEqual(v.list(), ["first", "second"]);
  assert.equal(v.get(7), Infinity);
  assert.equal(v.get("long"), "raw ]] text");
});

Deno.test("Prosody .list: item(...) records", () => {
  const items = parseLuaItems(bytes(`item({ ["key"] = "a"; });\nitem({ ["key"] = "b"; });\n`));
  assert.deepEqual(items.map((i) => (i as LuaTable).get("key")), ["a", "b"]);
});

Deno.test("Prosody data: code is refused, not run; depth and size bounded", () => {
  for (
    const code of [
      `return os.execute("touch /tmp/pwned")`,
      `return { x = io.open("/etc/passwd") }`,
      `return { ["a"] = nil }`,
      `return function() end`,
      `return {} ; os.exit()`,
      `return { "unterminated }`,
    ]
  ) assert.throws(() => parseLuaReturn(bytes(code)), LuaSyntaxError, code);
  const deep = "return " + "{".repeat(100) + "}".repeat(100);
  assert.throws(() => parseLuaReturn(bytes(deep)), /nested deeper than 64/);
  assert.throws(
    () =>
      parseLuaReturn(bytes("return { 1, 2, 3 }"), { maxDepth: 64, maxEntries: 2, maxBytes: 100 }),
    /more than 2 entries/,
  );
});

Deno.test("Prosody names and records: %-encoding, SCRAM-SHA-1 keys, stanzas", () => {
  assert.equal(decodeProsodyName("example%2etest"), "example.test");
  assert.equal(decodeProsodyName("j%c3%bcrgen"), "jürgen");
  assert.equal(decodeProsodyName("bad%zz"), undefined);
  const account = accountFromLua(parseLuaReturn(bytes(`return {
    ["stored_key"] = "ea34e04dcd9a1fed3d91ceca56bea62ba69b7df8";
    ["server_key"] = "0176d5a5a4661ee8684186f172d42202a8f4a9c4";
    ["iteration_count"] = 10000; ["salt"] = "abc";
  };`)));
  assert.deepEqual(account, {
    kind: "scram-sha-1",
    credentials: {
      salt: "YWJj",
      iterations: 10000,
      storedKey: "6jTgTc2aH+09kc7KVr6mK6abffg=",
      serverKey: "AXbVpaRmHuhoQYbxctQiAqj0qcQ=",
    },
  });
  assert.equal(
    accountFromLua(parseLuaReturn(bytes(`return {}`))),
    "no SCRAM-SHA-1 keys and no password",
  );
  const e = elementFromLua(parseLuaReturn(bytes(`return {
    { "Alice"; ["name"] = "FN"; ["attr"] = {}; };
    ["name"] = "vCard"; ["attr"] = { ["xmlns"] = "vcard-temp"; };
  };`)));
  assert.equal(e?.toString(), "<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>");
});
