/**
 * Ad-hoc command authorization found wanting in review: the right to run
 * an admin command is the host's admins *now*, not at module load (a
 * config reload that removes an admin keeps the adhoc module loaded).
 */
import { command, NS_COMMANDS } from "../helpers/adhoc.ts";
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { configFor } from "../helpers/reload.ts";
import type { Element } from "../../src/xml/element.ts";
import { INVITE_MODULES } from "../helpers/invites.ts";

const ADMIN = "http://jabber.org/protocol/admin";
const USERS = { alice: "wonderland", boss: "sekrit" };
function reloadWith(server: TestServer, overrides: Record<string, unknown>) {
  return server.reload(configFor(server, overrides));
}

/** The admin (until a reload says otherwise) every test here acts as. */
function loginBoss(server: TestServer): Promise<TestClient> {
  return TestClient.login({
    port: server.ports.c2s,
    user: "boss",
    password: USERS.boss,
    resource: "r",
  });
}

function submit(formType: string, fields: Record<string, string>): string {
  const f = Object.entries(fields).map(([k, v]) => `<field var='${k}'><value>${v}</value></field>`)
    .join("");
  return `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>${formType}</value>` +
    `</field>${f}</x>`;
}

function condition(reply: Element): string | undefined {
  return reply.getChild("error")?.getChildren().find((c) => c.name !== "text")?.name;
}

Deno.test("adhoc review: an admin removed by a config reload can no longer run admin or invite commands", async () => {
  const server = await startTestServer(
    { modules: INVITE_MODULES, admins: ["boss@localhost"] },
    USERS,
  );
  try {
    const boss = await loginBoss(server);
    // A session opened while still an admin…
    const node = `${ADMIN}#change-user-password`;
    const started = await command(boss, { node, action: "execute" });
    const sessionid = started.getChild("command", NS_COMMANDS)!.attrs.sessionid;
    assert.ok(sessionid);

    const report = await reloadWith(server, { modules: INVITE_MODULES, admins: [] });
    assert.equal(report.ok, true, report.error);

    // …cannot be completed after the right is gone.
    const late = await command(
      boss,
      { node, sessionid },
      submit(ADMIN, { accountjid: "alice@localhost", password: "stolen" }),
    );
    assert.equal(condition(late), "forbidden");
    await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: USERS.alice,
    }).then((c) => c.close());
    // Nor can a new one be started, here or for account invites.
    assert.equal(condition(await command(boss, { node: `${ADMIN}#add-user` })), "forbidden");
    assert.equal(
      condition(await command(boss, { node: "urn:xmpp:invite#create-account" })),
      "forbidden",
    );
    boss.close();
  } finally {
    await server.stop();
  }
});

Deno.test("adhoc review: MUC service admins follow a config reload too (no room creation, no owner rights left)", async () => {
  const overrides = { muc: { create: "admins" }, admins: ["boss@localhost"] };
  const server = await startTestServer(overrides, USERS);
  try {
    const boss = await loginBoss(server);
    const join = async (room: string) => {
      boss.send(
        `<presence to='${room}@conference.localhost/boss'>` +
          `<x xmlns='http://jabber.org/protocol/muc'/></presence>`,
      );
      return await boss.stanza((e) =>
        e.name === "presence" && e.attrs.from?.startsWith(`${room}@`) === true
      );
    };
    assert.equal((await join("before")).attrs.type, undefined, "an admin creates rooms");
    const report = await reloadWith(server, { ...overrides, admins: [] });
    assert.equal(report.ok, true, report.error);
    const after = await join("after");
    assert.equal(after.attrs.type, "error");
    assert.equal(condition(after), "not-allowed");
    boss.close();
  } finally {
    await server.stop();
  }
});
