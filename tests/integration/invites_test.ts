/**
 * Invitations over real sockets: `parley invite create` writes an invite
 * into the server's SQLite storage; a new client redeems it by
 * pre-authenticated in-band registration (XEP-0445) while open
 * registration is off, and ends up subscribed both ways with the inviter
 * (XEP-0379). Closed registration, expired and used-up tokens are refused;
 * admins and (when allowed) users create invites by ad-hoc command.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { errorCondition, TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { runParley } from "../helpers/parley_process.ts";
import {
  INVITE_MODULES,
  rawIq,
  registerWithToken,
  rosterOf,
  tokenOf,
  unauthenticated,
} from "../helpers/invites.ts";
import { InviteStore } from "../../src/modules/invites/store.ts";
import { parseForm } from "../../src/util/dataforms.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

function start(extra: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer({
    modules: INVITE_MODULES,
    admins: ["alice@localhost"],
    storage: { driver: "sqlite" },
    ...extra,
  });
}

function login(server: TestServer, user: string, password: string, resource = "r") {
  return TestClient.login({ port: server.ports.c2s, user, password, resource });
}

/** `parley invite create` against the test server's data directory. */
async function cliInvite(server: TestServer, args: string[]) {
  const file = join(server.dataDir, "cli.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      hosts: ["localhost"],
      dataDir: server.dataDir,
      storage: { driver: "sqlite" },
    }),
  );
  return await runParley(MAIN, ["invite", "create", "-c", file, ...args], { cwd: server.dataDir });
}

Deno.test("invites: CLI invite redeemed by pre-auth IBR; inviter and invitee subscribed both ways", async () => {
  const server = await start();
  let alice: TestClient | undefined;
  let carol: TestClient | undefined;
  try {
    const out = await cliInvite(server, ["--inviter", "alice@localhost", "--expires", "2d"]);
    assert.equal(out.code, 0, out.stderr);
    const [uri, landing] = out.stdout.trim().split("\n");
    assert.match(uri, /^xmpp:alice@localhost\?roster;preauth=[A-Za-z0-9_-]+;ibr=y$/);
    assert.match(landing, /^https:\/\/localhost(:\d+)?\/invite\/[A-Za-z0-9_-]+$/);
    assert.equal(tokenOf(landing), tokenOf(uri));

    alice = await login(server, "alice", "wonderland");
    // Roster pushes go to resources that read the roster (RFC 6121 §2.1.6).
    assert.deepEqual(await rosterOf(alice), {});
    // The stream offers pre-authenticated registration while open registration is off.
    const probe = await unauthenticated(server);
    assert.ok(probe.features!.getChild("register", "urn:xmpp:invite"));
    assert.equal(
      probe.features!.getChild("register", "http://jabber.org/features/iq-register"),
      undefined,
    );
    probe.close();

    assert.equal(await registerWithToken(server, tokenOf(uri), "carol", "carol-pass"), "ok");
    // The online inviter gets a roster push for the new contact.
    const push = await alice.stanza((e) =>
      e.name === "iq" && e.attrs.type === "set" &&
      e.getChild("query", "jabber:iq:roster")?.getChild("item")?.attrs.jid === "carol@localhost"
    );
    assert.equal(
      push.getChild("query", "jabber:iq:roster")!.getChild("item")!.attrs.subscription,
      "both",
    );

    carol = await login(server, "carol", "carol-pass");
    assert.deepEqual(await rosterOf(carol), { "alice@localhost": "both" });
    assert.deepEqual(await rosterOf(alice), { "carol@localhost": "both" });
    // Single use: spent.
    assert.equal(
      await registerWithToken(server, tokenOf(uri), "dave", "dave-pass"),
      "item-not-found",
    );
    assert.equal(await server.auth.userExists("localhost", "dave"), false);
  } finally {
    alice?.close();
    carol?.close();
    await server.stop();
  }
});

Deno.test("invites: the CLI refuses to write an invite to memory storage, which no server sees", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "cli.json");
    await Deno.writeTextFile(
      file,
      JSON.stringify({ hosts: ["localhost"], dataDir: dir, storage: { driver: "memory" } }),
    );
    const out = await runParley(MAIN, ["invite", "create", "-c", file], { cwd: dir });
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /memory/);
    assert.doesNotMatch(out.stdout, /xmpp:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("invites: closed registration refuses without a token; bad, expired and used-up tokens refused", async () => {
  const server = await start();
  try {
    assert.equal(
      await registerWithToken(server, undefined, "mallory", "pw"),
      "service-unavailable",
    );
    assert.equal(
      await registerWithToken(server, "A".repeat(22), "mallory", "pw"),
      "item-not-found",
    );
    assert.equal(await registerWithToken(server, "nope", "mallory", "pw"), "item-not-found");

    const store = new InviteStore(server.storage.map("localhost", "invites"));
    const expired = await store.create(
      { inviter: "admin", ttlMs: 60_000, uses: 5, roster: false },
      Date.now() - 3_600_000,
    );
    assert.equal(await registerWithToken(server, expired.token, "mallory", "pw"), "item-not-found");

    const twice = await store.create({ inviter: "admin", ttlMs: 60_000, uses: 2, roster: false });
    assert.equal(await registerWithToken(server, twice.token, "erin", "pw-erin"), "ok");
    // A taken name does not spend a use.
    assert.equal(await registerWithToken(server, twice.token, "erin", "pw-erin"), "conflict");
    assert.equal(await registerWithToken(server, twice.token, "frank", "pw-frank"), "ok");
    assert.equal(await registerWithToken(server, twice.token, "grace", "pw"), "item-not-found");
    assert.equal(await server.auth.userExists("localhost", "mallory"), false);
    assert.equal(await server.auth.userExists("localhost", "grace"), false);
    (await login(server, "frank", "pw-frank")).close();

    // A reserved name: only that username.
    const named = await store.create({
      inviter: "admin",
      ttlMs: 60_000,
      uses: 1,
      roster: false,
      username: "heidi",
    });
    assert.equal(await registerWithToken(server, named.token, "ivan", "pw"), "not-acceptable");
    assert.equal(await registerWithToken(server, named.token, "heidi", "pw-heidi"), "ok");
  } finally {
    await server.stop();
  }
});

async function command(c: TestClient, node: string, id: string, inner = "", sessionid?: string) {
  const s = sessionid ? ` sessionid='${sessionid}'` : "";
  const action = inner ? " action='complete'" : " action='execute'";
  c.send(
    `<iq type='set' to='localhost' id='${id}'><command xmlns='http://jabber.org/protocol/commands' node='${node}'${s}${action}>${inner}</command></iq>`,
  );
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

Deno.test("invites: ad-hoc create-account (admin) and invite (users, when allowed)", async () => {
  const server = await start({ invites: { allowUsers: true } });
  const alice = await login(server, "alice", "wonderland");
  const bob = await login(server, "bob", "builder");
  try {
    // Admin: create-account, a form first.
    const first = await command(alice, "urn:xmpp:invite#create-account", "c1");
    const cmd = first.getChild("command", "http://jabber.org/protocol/commands")!;
    assert.equal(cmd.attrs.status, "executing");
    const done = await command(
      alice,
      "urn:xmpp:invite#create-account",
      "c2",
      `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>urn:xmpp:invite</value></field><field var='uses'><value>1</value></field></x>`,
      cmd.attrs.sessionid,
    );
    assert.equal(done.attrs.type, "result", done.toString());
    const values = parseForm(
      done.getChild("command", "http://jabber.org/protocol/commands")!.getChild(
        "x",
        "jabber:x:data",
      )!,
    )!;
    const uri = values.get("uri")![0];
    assert.match(uri, /^xmpp:localhost\?register;preauth=/);
    assert.ok(values.get("landing-url")![0].includes("/invite/"));
    assert.equal(await registerWithToken(server, tokenOf(uri), "judy", "pw-judy"), "ok");

    // A user's invite links the rosters.
    const mine = await command(bob, "urn:xmpp:invite#invite", "u1");
    const bobUri = parseForm(
      mine.getChild("command", "http://jabber.org/protocol/commands")!.getChild(
        "x",
        "jabber:x:data",
      )!,
    )!.get("uri")![0];
    assert.match(bobUri, /^xmpp:bob@localhost\?roster;preauth=.+;ibr=y$/);
    assert.equal(await registerWithToken(server, tokenOf(bobUri), "kim", "pw-kim"), "ok");
    assert.deepEqual(await rosterOf(bob), { "kim@localhost": "both" });
    // Users may not create account invites.
    const refused = await command(bob, "urn:xmpp:invite#create-account", "u2");
    assert.equal(errorCondition(refused), "forbidden");
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("invites: users may not invite unless invites.allowUsers", async () => {
  const server = await start();
  const bob = await login(server, "bob", "builder");
  try {
    assert.equal(errorCondition(await command(bob, "urn:xmpp:invite#invite", "n1")), "forbidden");
    const probe = await unauthenticated(server);
    const r = await rawIq(probe, "g", "get", "<query xmlns='jabber:iq:register'/>");
    assert.equal(errorCondition(r), "service-unavailable");
    probe.close();
  } finally {
    bob.close();
    await server.stop();
  }
});
