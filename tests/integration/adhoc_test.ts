import { command, NS_COMMANDS } from "../helpers/adhoc.ts";
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { parseForm } from "../../src/util/dataforms.ts";

const ADMIN = "http://jabber.org/protocol/admin";
const USERS = { alice: "wonderland", bob: "builder", boss: "sekrit" };

function start(): Promise<TestServer> {
  return startTestServer({ admins: ["boss@localhost"] }, USERS);
}

function login(server: TestServer, user: keyof typeof USERS, resource = "r", presence?: false) {
  return TestClient.login({
    port: server.ports.c2s,
    user,
    password: USERS[user],
    resource,
    presence,
  });
}

function submit(fields: Record<string, string | string[]>): string {
  const f = Object.entries(fields).map(([k, v]) =>
    `<field var='${k}'>${[v].flat().map((x) => `<value>${x}</value>`).join("")}</field>`
  ).join("");
  return `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>${ADMIN}</value>` +
    `</field>${f}</x>`;
}

/** execute, then submit the form: the completing reply's `<command/>`. */
async function run(c: TestClient, action: string, fields: Record<string, string | string[]>) {
  const node = `${ADMIN}#${action}`;
  const first = (await command(c, { node, action: "execute" })).getChild("command", NS_COMMANDS)!;
  assert.equal(first.attrs.status, "executing");
  const reply = await command(c, { node, sessionid: first.attrs.sessionid }, submit(fields));
  return reply;
}

function condition(reply: Element): string[] {
  return reply.getChild("error")?.getChildren().filter((c) => c.name !== "text").map((c) =>
    c.name
  ) ?? [];
}

let discoCounter = 0;

async function disco(c: TestClient, kind: "info" | "items", node?: string): Promise<Element> {
  const id = "d" + ++discoCounter;
  const n = node ? ` node='${node}'` : "";
  c.send(
    `<iq type='get' to='localhost' id='${id}'><query xmlns='http://jabber.org/protocol/disco#${kind}'${n}/></iq>`,
  );
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

Deno.test("adhoc: add-user returns the XEP-0133 form, completes with a note, and the account logs in", async () => {
  const server = await start();
  try {
    const boss = await login(server, "boss");
    const node = `${ADMIN}#add-user`;
    const first = await command(boss, { node, action: "execute" });
    assert.equal(first.attrs.type, "result");
    assert.equal(first.attrs.from, "localhost");
    const cmd = first.getChild("command", NS_COMMANDS)!;
    assert.equal(cmd.attrs.status, "executing");
    assert.equal(cmd.attrs.node, node);
    assert.ok(cmd.attrs.sessionid);
    const actions = cmd.getChild("actions")!;
    assert.ok(actions.getChild("complete"));
    const x = cmd.getChild("x", "jabber:x:data")!;
    assert.equal(x.attrs.type, "form");
    const fields = x.getChildren("field");
    assert.deepEqual(fields.map((f) => f.attrs.var), [
      "FORM_TYPE",
      "accountjid",
      "password",
      "password-verify",
    ]);
    assert.equal(parseForm(x)!.get("FORM_TYPE")![0], ADMIN);
    assert.equal(fields[1].attrs.type, "jid-single");

    // Mismatched passwords: an error, and the session stays open for another try.
    const bad = await command(
      boss,
      { node, sessionid: cmd.attrs.sessionid },
      submit({ accountjid: "carol@localhost", password: "a", "password-verify": "b" }),
    );
    assert.deepEqual(condition(bad), ["not-acceptable"]);
    const done = await command(
      boss,
      { node, sessionid: cmd.attrs.sessionid, action: "complete" },
      submit({ accountjid: "carol@localhost", password: "pw", "password-verify": "pw" }),
    );
    const dc = done.getChild("command", NS_COMMANDS)!;
    assert.equal(dc.attrs.status, "completed");
    assert.equal(dc.attrs.sessionid, cmd.attrs.sessionid);
    assert.equal(dc.getChild("note")!.attrs.type, "info");
    assert.equal(dc.getChild("actions"), undefined);

    const carol = await TestClient.login({ port: server.ports.c2s, user: "carol", password: "pw" });
    carol.close();
    // An existing account is a conflict (XEP-0133 §5); another domain is refused.
    assert.deepEqual(
      condition(await run(boss, "add-user", { accountjid: "alice@localhost", password: "x" })),
      ["conflict"],
    );
    assert.deepEqual(
      condition(await run(boss, "add-user", { accountjid: "eve@elsewhere", password: "x" })),
      ["not-acceptable"],
    );
    boss.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc: change-user-password replaces the password", async () => {
  const server = await start();
  try {
    const boss = await login(server, "boss");
    const r = await run(boss, "change-user-password", {
      accountjid: "bob@localhost",
      password: "rebuilt",
    });
    assert.equal(r.getChild("command", NS_COMMANDS)!.attrs.status, "completed");
    await assert.rejects(login(server, "bob"), /auth failed/);
    (await TestClient.login({ port: server.ports.c2s, user: "bob", password: "rebuilt" })).close();
    const missing = await run(boss, "change-user-password", {
      accountjid: "nobody@localhost",
      password: "x",
    });
    assert.deepEqual(condition(missing), ["item-not-found"]);
    boss.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc: delete-user closes the user's sessions and removes every stored item", async () => {
  const server = await start();
  try {
    const s = server.storage;
    await s.keyval("localhost", "roster").set("bob", { items: [] });
    await s.map("localhost", "private").set("bob", "k", "<x/>");
    await s.archive("localhost", "offline").append("bob", { value: "<message/>" });
    const bob1 = await login(server, "bob", "one");
    const bob2 = await login(server, "bob", "two");
    const boss = await login(server, "boss");
    const r = await run(boss, "delete-user", { accountjids: ["bob@localhost", "ghost@localhost"] });
    const cmd = r.getChild("command", NS_COMMANDS)!;
    assert.equal(cmd.attrs.status, "completed");
    assert.match(cmd.getChildText("note")!, /bob/);
    assert.match(cmd.getChildText("note")!, /ghost/);
    assert.equal(await bob1.streamError(), "not-authorized");
    assert.equal(await bob2.streamError(), "not-authorized");
    assert.equal(await server.auth.userExists("localhost", "bob"), false);
    assert.equal(await s.keyval("localhost", "accounts").get("bob"), undefined);
    assert.equal(await s.keyval("localhost", "roster").get("bob"), undefined);
    assert.equal((await s.map("localhost", "private").getAll("bob")).size, 0);
    assert.equal(await s.archive("localhost", "offline").count("bob"), 0);
    await assert.rejects(login(server, "bob"), /auth failed/);
    assert.equal(await server.auth.userExists("localhost", "alice"), true);
    // The name stays reserved (accounts.tombstoneDays), even for an admin.
    const again = await run(boss, "add-user", { accountjid: "bob@localhost", password: "x" });
    assert.deepEqual(condition(again), ["conflict"]);
    const text = again.getChild("error")!.getChildren().find((c) => c.name === "text")!.text();
    assert.match(text, /reserved until .*--force/);
    assert.equal(await server.auth.userExists("localhost", "bob"), false);
    boss.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc: get-online-users-num counts accounts with a bound session", async () => {
  const server = await start();
  try {
    const a1 = await login(server, "alice", "one");
    const a2 = await login(server, "alice", "two", false);
    const b = await login(server, "bob");
    const boss = await login(server, "boss");
    const r = await command(boss, { node: `${ADMIN}#get-online-users-num`, action: "execute" });
    const cmd = r.getChild("command", NS_COMMANDS)!;
    assert.equal(cmd.attrs.status, "completed");
    const x = cmd.getChild("x", "jabber:x:data")!;
    assert.equal(x.attrs.type, "result");
    const values = parseForm(x)!;
    assert.equal(values.get("FORM_TYPE")![0], ADMIN);
    assert.deepEqual(values.get("onlineusersnum"), ["3"]);
    for (const c of [a1, a2, b, boss]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc: announce sends a headline from the host to every online session", async () => {
  const server = await start();
  try {
    const a1 = await login(server, "alice", "one");
    const a2 = await login(server, "alice", "two", false);
    const b = await login(server, "bob");
    const boss = await login(server, "boss");
    const r = await run(boss, "announce", {
      subject: "Maintenance",
      announcement: ["Going down at noon.", "Sorry!"],
    });
    assert.equal(r.getChild("command", NS_COMMANDS)!.attrs.status, "completed");
    for (const c of [a1, a2, b, boss]) {
      const m = await c.stanza((e) => e.name === "message");
      assert.equal(m.attrs.from, "localhost");
      assert.equal(m.attrs.type, "headline");
      assert.equal(m.getChildText("subject"), "Maintenance");
      assert.equal(m.getChildText("body"), "Going down at noon.\nSorry!");
    }
    assert.deepEqual(condition(await run(boss, "announce", { announcement: "" })), [
      "not-acceptable",
    ]);
    for (const c of [a1, a2, b, boss]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc: non-admins see no commands and are forbidden to execute them", async () => {
  const server = await start();
  try {
    const alice = await login(server, "alice");
    const boss = await login(server, "boss");
    const info = await disco(alice, "info");
    assert.ok(
      info.getChild("query", NS.discoInfo)!.getChildren("feature").some((f) =>
        f.attrs.var === NS_COMMANDS
      ),
      "the host advertises ad-hoc commands",
    );
    const none = await disco(alice, "items", NS_COMMANDS);
    assert.equal(none.attrs.type, "result");
    assert.equal(none.getChild("query", NS.discoItems)!.getChildren("item").length, 0);
    const forbidden = await command(alice, { node: `${ADMIN}#add-user`, action: "execute" });
    assert.deepEqual(condition(forbidden), ["forbidden"]);
    const hiddenInfo = await disco(alice, "info", `${ADMIN}#add-user`);
    assert.equal(hiddenInfo.attrs.type, "error");

    const list = await disco(boss, "items", NS_COMMANDS);
    const items = list.getChild("query", NS.discoItems)!.getChildren("item");
    assert.deepEqual(items.map((i) => i.attrs.node).sort(), [
      `${ADMIN}#add-user`,
      `${ADMIN}#announce`,
      `${ADMIN}#change-user-password`,
      `${ADMIN}#delete-user`,
      `${ADMIN}#get-online-users-num`,
    ]);
    assert.ok(items.every((i) => i.attrs.jid === "localhost" && i.attrs.name));
    const nodeInfo = (await disco(boss, "info", `${ADMIN}#add-user`)).getChild(
      "query",
      NS.discoInfo,
    )!;
    const identity = nodeInfo.getChild("identity")!;
    assert.equal(identity.attrs.category, "automation");
    assert.equal(identity.attrs.type, "command-node");
    const features = nodeInfo.getChildren("feature").map((f) => f.attrs.var);
    assert.ok(features.includes(NS_COMMANDS) && features.includes("jabber:x:data"));

    // A session started by the admin cannot be continued by someone else.
    const started = await command(boss, { node: `${ADMIN}#add-user` });
    const sessionid = started.getChild("command", NS_COMMANDS)!.attrs.sessionid;
    const boss2 = await login(server, "boss", "other");
    const stolen = await command(
      boss2,
      { node: `${ADMIN}#add-user`, sessionid },
      submit({ accountjid: "x@localhost", password: "x" }),
    );
    assert.deepEqual(condition(stolen), ["bad-request", "bad-sessionid"]);
    assert.equal(await server.auth.userExists("localhost", "x"), false);
    for (const c of [alice, boss, boss2]) c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc: cancel ends the session; bad actions and unknown nodes are refused", async () => {
  const server = await start();
  try {
    const boss = await login(server, "boss");
    const node = `${ADMIN}#add-user`;
    const started = await command(boss, { node, action: "execute" });
    const sessionid = started.getChild("command", NS_COMMANDS)!.attrs.sessionid;
    const canceled = await command(boss, { node, sessionid, action: "cancel" });
    const cc = canceled.getChild("command", NS_COMMANDS)!;
    assert.equal(cc.attrs.status, "canceled");
    assert.equal(cc.attrs.sessionid, sessionid);
    const after = await command(
      boss,
      { node, sessionid },
      submit({ accountjid: "late@localhost", password: "x" }),
    );
    assert.deepEqual(condition(after), ["bad-request", "bad-sessionid"]);
    assert.equal(await server.auth.userExists("localhost", "late"), false);

    assert.deepEqual(condition(await command(boss, { node, action: "dance" })), [
      "bad-request",
      "malformed-action",
    ]);
    assert.deepEqual(condition(await command(boss, { node, action: "complete" })), [
      "bad-request",
      "bad-action",
    ]);
    const s2 = (await command(boss, { node })).getChild("command", NS_COMMANDS)!.attrs.sessionid;
    assert.deepEqual(condition(await command(boss, { node, sessionid: s2, action: "next" })), [
      "bad-request",
      "bad-action",
    ]);
    assert.deepEqual(condition(await command(boss, { node: "urn:nope", action: "execute" })), [
      "item-not-found",
    ]);
    boss.close();
  } finally {
    await server.stop();
  }
});
