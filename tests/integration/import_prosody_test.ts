/**
 * Issue 12 acceptance: "Import from a Prosody 0.12 data directory made in
 * the test by Debian's prosody and prosodyctl (users, a roster, a vCard):
 * the users log in to Parley with their old passwords". A dry run first
 * (nothing written), then --apply; Parley then serves the imported
 * storage: SCRAM-SHA-1 keys and PLAIN work with the old passwords, the
 * roster, vCard, private XML, block list, PEP item and offline message
 * are there. Skipped, with a message, where Prosody is not installed
 * (.ci/run installs it).
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { iq, TestClient } from "../helpers/client.ts";
import { childConfig, runParley, startParleyServe } from "../helpers/parley_process.ts";
import {
  ACCOUNTS,
  makeProsodyData,
  PROSODY_BINARIES,
  prosodyInstalled,
} from "../helpers/prosody_data.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "main.ts");
const installed = prosodyInstalled();
if (!installed) {
  console.warn(
    `import_prosody_test: skipped: Prosody is not installed (${PROSODY_BINARIES.join(", ")})`,
  );
}

Deno.test({
  name: "parley import prosody: a Prosody 0.12 data directory, users keep their passwords",
  ignore: !installed,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "parley-import-" });
    try {
      const data = await makeProsodyData(dir);
      const config = join(dir, "parley.json");
      await Deno.writeTextFile(
        config,
        JSON.stringify(childConfig(["example.test", "plain.test"], "parley-data")),
      );
      const importArgs = ["import", "prosody", data, "-c", config];

      const dry = await runParley(MAIN, importArgs, { cwd: dir });
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /^Dry run \(nothing written; add --apply to import\)/);
      assert.match(dry.stdout, /example\.test: would import accounts \(SCRAM-SHA-1 keys\): 2/);
      assert.match(dry.stdout, /other\.test: not hosted by this server/);

      const applied = await runParley(MAIN, [...importArgs, "--apply"], { cwd: dir });
      assert.equal(applied.code, 0, applied.stderr);
      for (
        const line of [
          "example.test: accounts (SCRAM-SHA-1 keys): 2",
          "plain.test: accounts (plaintext passwords, hashed now): 1",
          "example.test: rosters: 2",
          "example.test: vCards: 1",
          "example.test: private XML elements: 1",
          "example.test: blocked JIDs: 1",
          "example.test: offline messages: 1",
          "example.test: PEP items: 1",
        ]
      ) assert.ok(applied.stdout.includes(line), `"${line}" in:\n${applied.stdout}`);

      // Again: everything is there already, so nothing is overwritten.
      const again = await runParley(MAIN, [...importArgs, "--apply"], { cwd: dir });
      assert.match(again.stdout, /nothing to import/);
      assert.match(again.stdout, /accounts\/alice: the account already exists in Parley/);

      const server = await startParleyServe(MAIN, ["-c", config], { cwd: dir, waitFor: ["c2s"] });
      try {
        const login = (user: keyof typeof ACCOUNTS, mechanism: string, password?: string) =>
          TestClient.login({
            port: server.ports.c2s,
            domain: ACCOUNTS[user].host,
            user,
            password: password ?? ACCOUNTS[user].password,
            mechanism,
            presence: false,
          });
        // The SCRAM-SHA-1 keys Prosody kept, used as they are.
        const alice = await login("alice", "SCRAM-SHA-1");
        await assert.rejects(login("alice", "SCRAM-SHA-1", "not the password"), /auth failed/);
        const roster = await iq(
          alice,
          "r",
          `<iq type='get' id='r'><query xmlns='jabber:iq:roster'/></iq>`,
        );
        const item = roster.getChild("query", "jabber:iq:roster")?.getChildren("item") ?? [];
        assert.deepEqual(item.map((i) => [i.attrs.jid, i.attrs.name, i.attrs.ask]), [
          ["bob@example.test", "Bob", "subscribe"],
        ]);
        assert.deepEqual(item[0].getChildren("group").map((g) => g.text()).sort(), [
          "Friends",
          "Wonder & land",
        ]);
        const vcard = await iq(
          alice,
          "v",
          `<iq type='get' id='v'><vCard xmlns='vcard-temp'/></iq>`,
        );
        assert.equal(vcard.getChild("vCard", "vcard-temp")?.getChildText("FN"), "Alice Liddell");
        const priv = await iq(
          alice,
          "p",
          `<iq type='get' id='p'><query xmlns='jabber:iq:private'><storage xmlns='storage:bookmarks'/></query></iq>`,
        );
        assert.match(priv.toString(), /<conference [^>]*jid='tea@conference\.example\.test'/);
        const blocked = await iq(
          alice,
          "b",
          `<iq type='get' id='b'><blocklist xmlns='urn:xmpp:blocking'/></iq>`,
        );
        assert.match(blocked.toString(), /<item jid='spam@evil\.example'\/>/);
        const pep = await iq(
          alice,
          "n",
          `<iq type='get' id='n'><pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:microblog:0'/></pubsub></iq>`,
        );
        assert.match(pep.toString(), /<item id='post1'>.*Hello from Prosody/);
        alice.close();

        // PLAIN with the old password; it also adds the SCRAM-SHA-256 keys Prosody never had.
        await assert.rejects(login("alice", "SCRAM-SHA-256"), /auth failed/);
        (await login("alice", "PLAIN")).close();
        (await login("alice", "SCRAM-SHA-256")).close();

        // bob's offline message from Prosody arrives at his first available presence.
        const bob = await login("bob", "PLAIN");
        bob.send("<presence/>");
        const message = await bob.stanza((e) => e.name === "message");
        assert.equal(message.getChildText("body"), "Hello Bob, ünïcode kept");
        assert.equal(message.attrs.from?.split("/")[0], "alice@example.test");
        // …and alice's subscription request, kept pending in his roster.
        const request = await bob.stanza((e) =>
          e.name === "presence" && e.attrs.type === "subscribe"
        );
        assert.equal(request.attrs.from, "alice@example.test");
        bob.close();

        // A plaintext password (internal_plain) was hashed at import: every mechanism works.
        for (const mechanism of ["SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"]) {
          (await login("carol", mechanism)).close();
        }
      } finally {
        assert.equal(await server.stop(), 0, server.log());
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
