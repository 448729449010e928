/**
 * Roster versions (RFC 6121 §2.6) of an account removed and created again
 * under the same name: a client still holding the old account's `ver`
 * gets the new roster, not "unchanged" over items that are gone.
 */
import assert from "node:assert/strict";
import { iq, TestClient } from "../helpers/client.ts";
import { startTestServer } from "../helpers/server.ts";

const ROSTER = "jabber:iq:roster";

Deno.test("roster: a re-created account's versions do not repeat the old account's", async () => {
  const server = await startTestServer({ accounts: { tombstoneDays: 0 } });
  const login = () =>
    TestClient.login({ port: server.ports.c2s, user: "frank", password: "pw", resource: "r" });
  const add = (c: TestClient, jid: string) =>
    iq(
      c,
      "add",
      `<iq type='set' id='add'><query xmlns='${ROSTER}'><item jid='${jid}'/></query></iq>`,
    );
  const get = (c: TestClient, ver: string) =>
    iq(c, "get", `<iq type='get' id='get'><query xmlns='${ROSTER}' ver='${ver}'/></iq>`);
  try {
    await server.auth.createUser("localhost", "frank", "pw");
    const before = await login();
    await add(before, "old-friend@example.org");
    const cached = (await get(before, "")).getChild("query", ROSTER)!.attrs.ver;
    before.close();
    await server.deleteAccount("localhost", "frank");

    await server.auth.createUser("localhost", "frank", "pw");
    const after = await login();
    await add(after, "new-friend@example.org");
    const answer = await get(after, cached);
    const items = answer.getChild("query", ROSTER)?.getChildren("item").map((i) => i.attrs.jid);
    assert.deepEqual(items, ["new-friend@example.org"], `ver ${cached} taken as current`);
    after.close();
  } finally {
    await server.stop();
  }
});
