/**
 * `parley import prosody` over a malformed or hostile data directory: an
 * admin provides it, but it may come from anywhere. Nothing is run, every
 * bad file or entry is reported as skipped, and what is written stays
 * within the limits the server keeps for the same data.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MemoryStorage } from "../../src/storage/memory.ts";
import { InternalAuthProvider } from "../../src/auth/internal_provider.ts";
import { Tombstones } from "../../src/core/tombstones.ts";
import { scanProsodyDir } from "../../src/cli/import_prosody_read.ts";
import { importHost, ImportTally } from "../../src/cli/import_prosody_host.ts";
import { PEP_SUBSCRIPTION_LIMITS } from "../../src/modules/pubsub/pep/service.ts";
import { MAX_SUBSCRIPTION_JID } from "../../src/modules/pubsub/engine/subscription_changes.ts";
import { mapStorage } from "../../src/modules/pubsub/engine/storage.ts";

const HOST = "example.test";

async function write(dir: string, path: string, text: string): Promise<void> {
  const file = join(dir, HOST, path);
  await Deno.mkdir(join(file, ".."), { recursive: true });
  await Deno.writeTextFile(file, text);
}

async function importDir(dir: string) {
  const storage = new MemoryStorage();
  const target = {
    storage,
    auth: new InternalAuthProvider(storage, { iterations: 4096 }),
    tombstones: new Tombstones(storage, 365),
    apply: true,
  };
  const tally = new ImportTally();
  const [host] = await scanProsodyDir(dir);
  await importHost(host, target, tally);
  return { storage, tally, auth: target.auth };
}

Deno.test("import prosody: malformed files and entries are skipped and reported, nothing runs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-hostile-" });
  try {
    await write(dir, "accounts/alice.dat", `return { ["password"] = "pw"; };`);
    await write(dir, "accounts/.dat", `return { ["password"] = "pw"; };`);
    await write(dir, "accounts/Bob.dat", `return { ["password"] = "pw"; };`);
    await write(dir, "accounts/carol.dat", `return os.execute("touch /tmp/pwned")`);
    await write(dir, "accounts/dave.dat", `return { ["password"] = { 1, 2 }; };`);
    await write(dir, "accounts/erin.dat", "return " + "{".repeat(100_000));
    await write(dir, "vcard/alice.dat", "return " + "{".repeat(100_000) + "}".repeat(100_000));
    await write(
      dir,
      "roster/alice.dat",
      `return { ["not a jid@@"] = {}; ["x@y/res"] = {}; [1] = "z"; ["ok@y"] = { ["subscription"] = "both" }; };`,
    );
    await write(dir, "offline/alice.list", `item(1);\nitem("x");\nitem({ ["name"] = "iq" });\n`);
    await write(dir, "private/alice.dat", `return 42`);

    const { storage, tally, auth } = await importDir(dir);
    assert.equal(await auth.userExists(HOST, "alice"), true);
    for (const user of ["", "bob", "Bob", "carol", "dave", "erin"]) {
      assert.equal(await auth.userExists(HOST, user), false, user);
    }
    const skipped = tally.skipped.join("\n");
    for (
      const expected of [
        /accounts\/: not a valid, prepared username/,
        /accounts\/Bob: not a valid, prepared username/,
        /accounts\/carol: not Prosody data/,
        /accounts\/dave: /,
        /accounts\/erin: not Prosody data/,
        /vcard\/alice: not Prosody data/,
        /offline\/alice: an item that is not a message/,
      ]
    ) assert.match(skipped, expected);
    const roster = await storage.keyval(HOST, "roster").get("alice") as {
      items: { jid: string }[];
    };
    assert.deepEqual(roster.items.map((i) => i.jid), ["ok@y"]);
    assert.equal(await storage.archive(HOST, "offline").count("alice"), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import prosody: a PEP node keeps no more subscriptions than the server allows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-hostile-" });
  try {
    await write(dir, "accounts/alice.dat", `return { ["password"] = "pw"; };`);
    const subscribers = Array.from({ length: 3000 }, (_, i) => `["u${i}@x.test"] = true;`);
    subscribers.push(`["${"l".repeat(600)}@x.test"] = true;`);
    await write(
      dir,
      "pep/alice.dat",
      `return { ["n"] = { ["subscribers"] = { ${subscribers.join(" ")} }; }; };`,
    );
    const { storage, tally } = await importDir(dir);
    const pep = mapStorage(storage.map(HOST, "pep_nodes"), storage.map(HOST, "pep_items"));
    const node = await pep.node("alice", "n");
    assert.ok(node);
    const subs = Object.keys(node.subscriptions);
    assert.ok(subs.length <= PEP_SUBSCRIPTION_LIMITS.maxSubscriptionsPerNode, `${subs.length}`);
    assert.ok(subs.every((jid) => jid.length <= MAX_SUBSCRIPTION_JID));
    assert.match(
      tally.skipped.join("\n"),
      /pep\/alice node n: 2001 subscriptions over the server.s limits/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import prosody: the list of skipped entries stays bounded", () => {
  const tally = new ImportTally();
  for (let i = 0; i < 100_000; i++) tally.skip("h/offline/u", "an item that is not a message");
  assert.ok(tally.skipped.length <= 10_000, `${tally.skipped.length}`);
  assert.equal(tally.skippedCount, 100_000);
});

Deno.test("import prosody: a pending request is kept as a subscribe presence from its contact only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-hostile-" });
  try {
    await write(dir, "accounts/alice.dat", `return { ["password"] = "pw"; };`);
    const big = "x".repeat(100_000);
    await write(
      dir,
      "roster/alice.dat",
      `return { [false] = { ["pending"] = {
        ["forged@x.test"] = { ["name"] = "message";
          ["attr"] = { ["from"] = "admin@example.test"; ["type"] = "chat"; ["a='1'/><evil b"] = "c" };
          { ["name"] = "body"; ["attr"] = {}; "obey" } };
        ["plain@x.test"] = true;
        ["big@x.test"] = { ["name"] = "presence"; ["attr"] = { ["type"] = "subscribe" };
          { ["name"] = "status"; ["attr"] = {}; "${big}" } };
      } } };`,
    );
    const { storage } = await importDir(dir);
    const roster = await storage.keyval(HOST, "roster").get("alice") as {
      pending: Record<string, unknown>;
    };
    const pending = roster.pending;
    assert.deepEqual(Object.keys(pending).sort(), ["big@x.test", "forged@x.test", "plain@x.test"]);
    for (const [contact, stanza] of Object.entries(pending)) {
      const [name, attrs] = stanza as [string, Record<string, string>];
      assert.equal(name, "presence", contact);
      assert.deepEqual(attrs, { from: contact, type: "subscribe" }, contact);
      assert.ok(JSON.stringify(stanza).length < 2048, contact);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import prosody: items with times out of range are imported at a sane time, the import goes on", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-hostile-" });
  try {
    await write(dir, "accounts/alice.dat", `return { ["password"] = "pw"; };`);
    await write(dir, "accounts/bob.dat", `return { ["password"] = "pw"; };`);
    const message = (when: string) =>
      `item({ ["when"] = ${when}; ["key"] = "k${when.length}"; ["name"] = "message"; ` +
      `["attr"] = { ["type"] = "chat"; ["from"] = "x@y" }; { ["name"] = "body"; ["attr"] = {}; "hi" } });\n`;
    await write(dir, "offline/alice.list", message("1e300") + message("-1e300") + message("1.5"));
    await write(dir, "offline/bob.list", message("1700000000"));
    await write(dir, "pep/alice.dat", `return { ["n"] = {}; };`);
    await write(dir, "pep_n/alice.list", message("1e300"));
    const { storage } = await importDir(dir);
    const items = await storage.archive(HOST, "offline").find("alice");
    assert.equal(items.length, 3);
    for (const item of items) assert.ok(Number.isSafeInteger(item.when) && item.when >= 0);
    assert.equal(await storage.archive(HOST, "offline").count("bob"), 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
