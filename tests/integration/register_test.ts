import assert from "node:assert/strict";
import { errorCondition as condition, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import type { Element } from "../../src/xml/element.ts";

const NS_REGISTER = "jabber:iq:register";
const NS_FEATURE = "http://jabber.org/features/iq-register";

/** A client past STARTTLS, not authenticated: where in-band registration happens. */
async function unauthenticated(server: TestServer): Promise<TestClient> {
  const c = await TestClient.connect({ port: server.ports.c2s });
  await c.open();
  await c.starttls();
  await c.open();
  return c;
}

async function iq(c: TestClient, id: string, xml: string, type = "set"): Promise<Element> {
  c.send(`<iq type='${type}' id='${id}'>${xml}</iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

const query = (inner: string) => `<query xmlns='${NS_REGISTER}'>${inner}</query>`;
const creds = (user: string, password: string) =>
  query(`<username>${user}</username><password>${password}</password>`);

async function registerAccount(server: TestServer, user: string, password: string) {
  const c = await unauthenticated(server);
  try {
    return await iq(c, "reg", creds(user, password));
  } finally {
    c.close();
  }
}

function login(server: TestServer, user: string, password: string, resource = "r") {
  return TestClient.login({ port: server.ports.c2s, user, password, resource });
}

const enabled = { registration: { enabled: true } };

Deno.test("register: disabled by default: no stream feature, pre-auth register iqs get service-unavailable", async () => {
  const server = await startTestServer();
  try {
    const c = await unauthenticated(server);
    assert.equal(c.features!.getChild("register", NS_FEATURE), undefined);
    const get = await iq(c, "g1", query(""), "get");
    assert.equal(get.attrs.type, "error");
    assert.equal(condition(get), "service-unavailable");
    const set = await iq(c, "s1", creds("mallory", "secret"));
    assert.equal(condition(set), "service-unavailable");
    assert.equal(await server.auth.userExists("localhost", "mallory"), false);
    // Anything else before authentication still ends the stream.
    c.send("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert.equal(await c.streamError(), "not-authorized");
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("register: enabled: fields, new account, conflict, bad username, empty password, then login", async () => {
  const server = await startTestServer(enabled);
  try {
    const c = await unauthenticated(server);
    assert.ok(c.features!.getChild("register", NS_FEATURE), "stream feature offered after TLS");
    const fields = await iq(c, "g1", query(""), "get");
    assert.equal(fields.attrs.type, "result");
    assert.equal(fields.attrs.from, undefined, "no from before authentication");
    const q = fields.getChild("query", NS_REGISTER)!;
    assert.ok(q.getChild("username") && q.getChild("password"));
    assert.ok(q.getChild("x", "jabber:x:data"), "a data form too");

    const ok = await iq(c, "s1", creds("Carol", "s3cret"));
    assert.equal(ok.attrs.type, "result");
    assert.equal(await server.auth.userExists("localhost", "carol"), true, "localpart prepared");

    assert.equal(condition(await iq(c, "s2", creds("alice", "x"))), "conflict");
    assert.equal(condition(await iq(c, "s3", creds("bad@name", "x"))), "jid-malformed");
    assert.equal(condition(await iq(c, "s4", creds("dave", ""))), "not-acceptable");
    assert.equal(condition(await iq(c, "s5", query("<password>x</password>"))), "not-acceptable");
    assert.equal(await server.auth.userExists("localhost", "dave"), false);
    // A data-form submission works as well (XEP-0077 §4).
    const viaForm = await iq(
      c,
      "s6",
      query(
        `<x xmlns='jabber:x:data' type='submit'>` +
          `<field var='FORM_TYPE'><value>${NS_REGISTER}</value></field>` +
          `<field var='username'><value>erin</value></field>` +
          `<field var='password'><value>pw</value></field></x>`,
      ),
    );
    assert.equal(viaForm.attrs.type, "result");
    c.close();

    const carol = await login(server, "carol", "s3cret");
    assert.equal(carol.jid, "carol@localhost/r");
    carol.close();
    (await login(server, "erin", "pw")).close();
  } finally {
    await server.stop();
  }
});

Deno.test("register: accounts per IP are throttled", async () => {
  const server = await startTestServer({
    registration: { enabled: true, maxPerIp: 2, windowSeconds: 3600 },
  });
  try {
    assert.equal((await registerAccount(server, "u1", "pw")).attrs.type, "result");
    // A conflict creates nothing and does not count.
    assert.equal(condition(await registerAccount(server, "u1", "pw")), "conflict");
    assert.equal((await registerAccount(server, "u2", "pw")).attrs.type, "result");
    const third = await registerAccount(server, "u3", "pw");
    assert.equal(condition(third), "not-acceptable");
    assert.equal(third.getChild("error")!.attrs.type, "wait");
    assert.equal(await server.auth.userExists("localhost", "u3"), false);
  } finally {
    await server.stop();
  }
});

Deno.test("register: parallel registrations from one IP cannot exceed the limit", async () => {
  const server = await startTestServer({
    registration: { enabled: true, maxPerIp: 2, windowSeconds: 3600 },
  });
  try {
    // All requests in flight at once: the limit holds while account creation is pending.
    const clients = await Promise.all(
      Array.from({ length: 6 }, () => unauthenticated(server)),
    );
    const replies = await Promise.all(
      clients.map((c, i) => iq(c, "reg", creds(`p${i}`, "pw"))),
    );
    for (const c of clients) c.close();
    const made = replies.filter((r) => r.attrs.type === "result").length;
    assert.equal(made, 2);
    assert.equal(replies.filter((r) => condition(r) === "not-acceptable").length, 4);
  } finally {
    await server.stop();
  }
});

Deno.test("register: without TLS a register iq is refused like any pre-auth stanza", async () => {
  const server = await startTestServer(enabled);
  try {
    const c = await TestClient.connect({ port: server.ports.c2s });
    await c.open();
    assert.equal(c.features!.getChild("register", NS_FEATURE), undefined);
    c.send(`<iq type='set' id='s1'>${creds("plain", "pw")}</iq>`);
    assert.equal(await c.streamError(), "not-authorized");
    assert.equal(await server.auth.userExists("localhost", "plain"), false);
    c.close();
  } finally {
    await server.stop();
  }
});

Deno.test("register: an authenticated user reads the registration and changes the password (registration disabled)", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "wonderland");
    const info = await iq(a, "g1", query(""), "get");
    const q = info.getChild("query", NS_REGISTER)!;
    assert.ok(q.getChild("registered"));
    assert.equal(q.getChildText("username"), "alice");

    assert.equal(condition(await iq(a, "c0", query("<password>x</password>"))), "bad-request");
    assert.equal(condition(await iq(a, "c1", creds("bob", "hijack"))), "not-authorized");
    assert.equal(condition(await iq(a, "c2", creds("alice", ""))), "not-acceptable");
    const changed = await iq(
      a,
      "c3",
      `<query xmlns='${NS_REGISTER}'>` +
        `<username>alice</username><password>looking-glass</password></query>`,
    );
    assert.equal(changed.attrs.type, "result");
    // Addressed to the server works too.
    a.send(
      `<iq type='set' id='c4' to='localhost'>${creds("alice", "looking-glass2")}</iq>`,
    );
    const viaHost = await a.stanza((e) => e.name === "iq" && e.attrs.id === "c4");
    assert.equal(viaHost.attrs.type, "result");
    assert.equal(viaHost.attrs.from, "localhost");
    a.close();

    await assert.rejects(login(server, "alice", "wonderland"), /auth failed/);
    await assert.rejects(login(server, "bob", "hijack"), /auth failed/);
    (await login(server, "alice", "looking-glass2")).close();
  } finally {
    await server.stop();
  }
});

Deno.test("register: <remove/> answers, closes every session, and leaves no data behind", async () => {
  const server = await startTestServer(enabled);
  try {
    assert.equal((await registerAccount(server, "frank", "pw")).attrs.type, "result");
    const s = server.storage;
    // What other modules keep per user, in each store kind.
    await s.keyval("localhost", "roster").set("frank", { items: [] });
    await s.keyval("localhost", "vcard").set("frank", "<vCard/>");
    await s.keyval("localhost", "lastlog").set("frank", { when: 1 });
    await s.map("localhost", "private").set("frank", "a:b", "<b/>");
    await s.map("localhost", "blocking").set("frank", "x@y", true);
    await s.archive("localhost", "offline").append("frank", { value: "<message/>" });
    await s.keyval("localhost", "roster").set("alice", { items: [] });

    const f1 = await login(server, "frank", "pw", "one");
    const f2 = await login(server, "frank", "pw", "two");
    f1.send(`<iq type='set' id='rm'>${query("<remove/>")}</iq>`);
    await f1.waitClosed();
    // XEP-0077 §3.2: the result, then the not-authorized stream error, in that order.
    const kinds = f1.frames.flatMap((f) => f.kind === "stanza" ? [f.element] : [])
      .filter((e) => e.name === "stream:error" || (e.name === "iq" && e.attrs.id === "rm"))
      .map((e) => e.name === "iq" ? e.attrs.type : e.name);
    assert.deepEqual(kinds, ["result", "stream:error"]);
    assert.equal(await f1.streamError(), "not-authorized");
    assert.equal(await f2.streamError(), "not-authorized");
    await f2.waitClosed();

    await assert.rejects(login(server, "frank", "pw"), /auth failed/);
    assert.equal(await server.auth.userExists("localhost", "frank"), false);
    for (const store of ["accounts", "roster", "vcard", "lastlog"]) {
      assert.equal(await s.keyval("localhost", store).get("frank"), undefined, store);
    }
    for (const store of ["private", "blocking"]) {
      assert.equal((await s.map("localhost", store).getAll("frank")).size, 0, store);
    }
    assert.equal(await s.archive("localhost", "offline").count("frank"), 0);
    assert.deepEqual(await s.keyval("localhost", "roster").get("alice"), { items: [] });
  } finally {
    await server.stop();
  }
});

Deno.test("register: <remove/> with other children is a bad request and removes nothing", async () => {
  const server = await startTestServer();
  try {
    const a = await login(server, "alice", "wonderland");
    const r = await iq(a, "rm", query("<remove/><username>alice</username>"));
    assert.equal(condition(r), "bad-request");
    assert.equal(await server.auth.userExists("localhost", "alice"), true);
    a.close();
  } finally {
    await server.stop();
  }
});

/** Wait (bounded) until the account's credentials are gone: its removal has finished. */
async function gone(server: TestServer, user: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (await server.auth.userExists("localhost", user)) {
    if (Date.now() > deadline) throw new Error(user + " still exists");
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("register: a removed account's name is refused with conflict until its tombstone expires", async () => {
  // Four seconds: long enough to be refused right after the removal even on
  // a loaded machine, short enough to see it expire.
  const tombstoneSeconds = 4;
  const server = await startTestServer({
    registration: { enabled: true, maxPerIp: 100 },
    accounts: { tombstoneDays: tombstoneSeconds / 86_400 },
  });
  try {
    assert.equal((await registerAccount(server, "romeo", "pw")).attrs.type, "result");
    const romeo = await login(server, "romeo", "pw");
    const removedAt = Date.now();
    romeo.send(`<iq type='set' id='rm'>${query("<remove/>")}</iq>`);
    await romeo.waitClosed();
    await gone(server, "romeo");

    const refused = await registerAccount(server, "romeo", "other");
    assert.equal(refused.attrs.type, "error");
    assert.equal(condition(refused), "conflict");
    assert.equal(refused.getChild("error")!.attrs.type, "cancel");
    const text = refused.getChild("error")!.getChildren().find((c) => c.name === "text");
    assert.match(text?.text() ?? "", /deleted account/);
    assert.equal(await server.auth.userExists("localhost", "romeo"), false);
    // Other names are not affected.
    assert.equal((await registerAccount(server, "juliet", "pw")).attrs.type, "result");

    // After the tombstone expires the name is free again.
    const deadline = Date.now() + tombstoneSeconds * 1000 + 10_000;
    let reply = refused;
    while (reply.attrs.type !== "result" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      reply = await registerAccount(server, "romeo", "new");
    }
    assert.equal(reply.attrs.type, "result", reply.toString());
    assert.ok(Date.now() - removedAt >= tombstoneSeconds * 1000 - 100, "not before it expired");
    (await login(server, "romeo", "new")).close();
  } finally {
    await server.stop();
  }
});
