/**
 * `parley export JID` (issue 13 part 6): data created over real sockets
 * on a server with SQLite storage (roster item, vCard, private XML, a
 * bookmark published via PEP, a block, archived and offline messages),
 * then the CLI run as a subprocess on that data directory, its XEP-0227
 * output parsed back and every section checked — with the text a client
 * chose (markup characters included) read back exactly.
 */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { iq, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { capsLogin, event, publishXml } from "../helpers/pep.ts";
import { runParley } from "../helpers/parley_process.ts";
import { parseElement } from "../../src/util/xml_fragment.ts";
import type { Element } from "../../src/xml/element.ts";

const MAIN = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "main.ts");
const PIE = "urn:xmpp:pie:0";
const B2 = "urn:xmpp:bookmarks:1";
const TRICKY = `a & b <c> "d" 'e' ]]>`;

/** Poll (bounded: 3 s) until `count()` reaches `n`. */
async function untilCount(count: () => Promise<number>, n: number, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (await count() < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} ${what}, have ${await count()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function parseExport(xml: string): Element {
  assert.match(xml, /^<\?xml version='1\.0' encoding='UTF-8'\?>\n/);
  const doc = parseElement(xml.replace(/^<\?xml[^>]*\?>\n/, "").trim());
  assert.ok(doc, "the export is one well-formed element");
  assert.equal(doc.name, "server-data");
  assert.equal(doc.attrs.xmlns, PIE);
  return doc;
}

async function makeData(server: TestServer): Promise<void> {
  const port = server.ports.c2s;
  const storage = server.storage;
  const bob = await TestClient.login({ port, user: "bob", password: "builder", resource: "b" });
  const { client: alice } = await capsLogin(server, "alice", "wonderland", "a", [B2 + "+notify"]);
  const esc = (s: string) =>
    s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/'/g, "&apos;");
  const ok = async (id: string, xml: string) => {
    const r = await iq(alice, id, xml);
    assert.equal(r.attrs.type, "result", r.toString());
  };
  await ok(
    "r1",
    `<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' ` +
      `name='${esc(TRICKY)}'><group>Friends</group><group>${esc(TRICKY)}</group></item>` +
      `</query></iq>`,
  );
  await ok(
    "v1",
    `<iq type='set' id='v1'><vCard xmlns='vcard-temp'><FN>${esc(TRICKY)}</FN>` +
      `<NICKNAME>Alice</NICKNAME></vCard></iq>`,
  );
  await ok(
    "p1",
    `<iq type='set' id='p1'><query xmlns='jabber:iq:private'><prefs xmlns='urn:example:prefs'>` +
      `<theme>${esc(TRICKY)}</theme></prefs></query></iq>`,
  );
  await ok(
    "b1",
    publishXml(
      "b1",
      B2,
      "tea@conference.localhost",
      `<conference xmlns='${B2}' name='${
        esc(TRICKY)
      }' autojoin='true'><nick>al</nick></conference>`,
      {
        "pubsub#persist_items": "true",
        "pubsub#access_model": "whitelist",
        "pubsub#max_items": "max",
        "pubsub#send_last_published_item": "never",
      },
    ),
  );
  await event(alice, "alice@localhost", B2);
  await ok(
    "k1",
    `<iq type='set' id='k1'><block xmlns='urn:xmpp:blocking'><item jid='spam@evil.example'/>` +
      `</block></iq>`,
  );
  for (let i = 1; i <= 3; i++) {
    alice.send(
      `<message to='bob@localhost' type='chat' id='a${i}'><body>hello ${i} ${
        esc(TRICKY)
      }</body></message>`,
    );
    await bob.stanza((e) => e.name === "message" && e.attrs.id === `a${i}`);
  }
  alice.close();
  // Once she is gone, bob's message is kept for her (and archived).
  await untilCount(
    () => Promise.resolve(server.sessions.resources("localhost", "alice").length === 0 ? 1 : 0),
    1,
    "alice gone",
  );
  bob.send(
    `<message to='alice@localhost' type='chat' id='off1'><body>while you were out ${
      esc(TRICKY)
    }</body></message>`,
  );
  await untilCount(() => storage.archive("localhost", "offline").count("alice"), 1, "offline");
  // alice's archive: her three messages and bob's.
  await untilCount(() => storage.archive("localhost", "archive").count("alice"), 4, "archived");
  bob.close();
}

Deno.test("parley export: every section of an account's data as XEP-0227 XML", async () => {
  const server = await startTestServer({ storage: { driver: "sqlite" } });
  const dir = server.dataDir;
  try {
    await makeData(server);
    const config = join(dir, "export-config.json");
    await Deno.writeTextFile(
      config,
      JSON.stringify({ hosts: ["localhost"], dataDir: dir, storage: { driver: "sqlite" } }),
    );
    // Beside the running server (SQLite in WAL mode): a complete document.
    const live = await runParley(MAIN, ["export", "alice@localhost", "-c", config], { cwd: dir });
    assert.equal(live.code, 0, live.stderr);
    assert.equal(parseExport(live.stdout).getChild("host")?.getChild("user")?.attrs.name, "alice");
    // The server closes its database (pending writes committed); the counts are exact after.
    await server.close();

    const r = await runParley(MAIN, ["export", "alice@localhost", "-c", config], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Exported alice@localhost: 1 roster items, a vCard/);
    assert.match(r.stderr, /1 offline messages, 1 PEP nodes with 1 items, 1 blocked JIDs/);
    assert.match(r.stderr, /4 archived messages/);
    const doc = parseExport(r.stdout);

    const host = doc.getChild("host")!;
    assert.equal(host.attrs.jid, "localhost");
    const user = host.getChild("user")!;
    assert.equal(user.attrs.name, "alice");
    assert.equal(user.attrs.password, undefined, "no password by default");
    assert.equal(user.getChild("scram-credentials", `${PIE}#scram`), undefined);

    const roster = user.getChild("query", "jabber:iq:roster")!;
    const items = roster.getChildren("item");
    assert.equal(items.length, 1);
    assert.deepEqual(
      [items[0].attrs.jid, items[0].attrs.name, items[0].attrs.subscription],
      ["bob@localhost", TRICKY, "none"],
    );
    assert.deepEqual(
      items[0].getChildren("group").map((g) => g.text()).sort(),
      [
        "Friends",
        TRICKY,
      ].sort(),
    );

    const vcard = user.getChild("vCard", "vcard-temp")!;
    assert.equal(vcard.getChildText("FN"), TRICKY);
    assert.equal(vcard.getChildText("NICKNAME"), "Alice");

    const priv = user.getChild("query", "jabber:iq:private")!;
    assert.equal(priv.getChild("prefs", "urn:example:prefs")?.getChildText("theme"), TRICKY);

    const offline = user.getChild("offline-messages")!.getChildren("message");
    assert.equal(offline.length, 1);
    assert.equal(offline[0].attrs.xmlns, "jabber:client");
    assert.equal(offline[0].getChildText("body"), `while you were out ${TRICKY}`);
    const delay = offline[0].getChild("delay", "urn:xmpp:delay")!;
    assert.match(delay.attrs.stamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const owner = user.getChild("pubsub", "http://jabber.org/protocol/pubsub#owner")!;
    const configure = owner.getChildren("configure").find((c) => c.attrs.node === B2)!;
    const form = configure.getChild("x", "jabber:x:data")!;
    assert.equal(form.attrs.type, "submit");
    const field = (name: string) =>
      form.getChildren("field").find((f) => f.attrs.var === name)?.getChildText("value");
    assert.equal(field("FORM_TYPE"), "http://jabber.org/protocol/pubsub#node_config");
    assert.equal(field("pubsub#access_model"), "whitelist");
    assert.equal(field("pubsub#persist_items"), "1");
    const pubsub = user.getChild("pubsub", "http://jabber.org/protocol/pubsub")!;
    const bookmarks = pubsub.getChildren("items").find((i) => i.attrs.node === B2)!;
    const bookmark = bookmarks.getChild("item")!;
    assert.equal(bookmark.attrs.id, "tea@conference.localhost");
    const conference = bookmark.getChild("conference", B2)!;
    assert.deepEqual([conference.attrs.name, conference.getChildText("nick")], [TRICKY, "al"]);

    const blocked = user.getChild("blocklist", "urn:xmpp:blocking")!.getChildren("item");
    assert.deepEqual(blocked.map((i) => i.attrs.jid), ["spam@evil.example"]);

    const results = user.getChild("archive", `${PIE}#mam`)!.getChildren("result", "urn:xmpp:mam:2");
    assert.equal(results.length, 4);
    const messages = results.map((res) => {
      assert.ok(res.attrs.id);
      const fwd = res.getChild("forwarded", "urn:xmpp:forward:0")!;
      assert.match(fwd.getChild("delay", "urn:xmpp:delay")!.attrs.stamp, /Z$/);
      const m = fwd.getChild("message", "jabber:client")!;
      return m.getChildText("body");
    });
    assert.deepEqual(messages, [
      `hello 1 ${TRICKY}`,
      `hello 2 ${TRICKY}`,
      `hello 3 ${TRICKY}`,
      `while you were out ${TRICKY}`,
    ]);

    // --with-credentials: both SCRAM key sets, into a file only its owner reads.
    const file = join(dir, "alice.xml");
    const withCreds = await runParley(
      MAIN,
      ["export", "alice@localhost", "-c", config, "-o", file, "--with-credentials"],
      { cwd: dir },
    );
    assert.equal(withCreds.code, 0, withCreds.stderr);
    assert.equal(withCreds.stdout.startsWith(`Exported alice@localhost to ${file}`), true);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    const full = parseExport(await Deno.readTextFile(file)).getChild("host")!.getChild("user")!;
    const creds = full.getChildren("scram-credentials", `${PIE}#scram`);
    assert.deepEqual(creds.map((c) => c.attrs.mechanism).sort(), ["SCRAM-SHA-1", "SCRAM-SHA-256"]);
    for (const c of creds) {
      assert.match(c.getChildText("iter-count") ?? "", /^\d+$/);
      for (const key of ["salt", "server-key", "stored-key"]) {
        assert.match(c.getChildText(key) ?? "", /^[A-Za-z0-9+/]+=*$/, key);
      }
    }

    // --all: every account of the host, one <user/> each (the accounts store's users, sorted).
    const hostFile = join(dir, "localhost.xml");
    const whole = await runParley(MAIN, [
      "export",
      "--all",
      "localhost",
      "-c",
      config,
      "-o",
      hostFile,
    ], {
      cwd: dir,
    });
    assert.equal(whole.code, 0, whole.stderr);
    assert.match(whole.stdout, /^Exported 2 accounts of localhost to /);
    assert.match(whole.stdout, /\n {2}bob: 0 roster items, no vCard, .* 4 archived messages\n/);
    const users = parseExport(await Deno.readTextFile(hostFile)).getChild("host")!.getChildren(
      "user",
    );
    assert.deepEqual(users.map((u) => u.attrs.name), ["alice", "bob"]);
    for (const u of users) assert.equal(u.getChild("scram-credentials", `${PIE}#scram`), undefined);

    const missing = await runParley(MAIN, ["export", "nobody@localhost", "-c", config], {
      cwd: dir,
    });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nobody@localhost does not exist/);
    assert.equal(missing.stdout, "");
  } finally {
    await server.stop();
  }
});
