/**
 * The order in which a subscriber's client learns about an approval (RFC
 * 6121 §3.1.5, §3.1.6): the roster push that makes the contact a `to`
 * subscription, then the `subscribed` itself, then the contact's presence
 * that the subscription allows. A client that sees the presence first has
 * nowhere to put it. Checked stanza by stanza over sockets, several times
 * over, so that an ordering race shows.
 */
import assert from "node:assert/strict";
import type { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { loginAt, serverPair } from "../helpers/federation.ts";
import { imLogin } from "../helpers/im.ts";
import type { Element } from "../../src/xml/element.ts";

const ROSTER = "jabber:iq:roster";
const ROUNDS = 5;

/** A short description of what the client got, for the ordering assertion. */
function describe(e: Element): string {
  if (e.name === "iq" && e.getChild("query", ROSTER)) {
    const item = e.getChild("query", ROSTER)!.getChild("item")!;
    return `push ${item.attrs.jid} ${item.attrs.subscription}${item.attrs.ask ? " ask" : ""}`;
  }
  if (e.name === "presence") return `presence ${e.attrs.type ?? "available"} ${e.attrs.from}`;
  return e.name;
}

/** The next `count` stanzas `c` receives, in order, described; roster pushes acknowledged. */
async function nextStanzas(c: TestClient, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const e = await c.stanza();
    if (e.name === "iq" && e.attrs.type === "set") {
      c.send(`<iq type='result' id='${e.attrs.id}'/>`);
    }
    out.push(describe(e));
  }
  return out;
}

/** alice, and a fresh contact `juliet<i>` (password "j") for every round. */
function serverWithJuliets(): Promise<TestServer> {
  const users: Record<string, string> = { alice: "a" };
  for (let i = 0; i < ROUNDS; i++) users[`juliet${i}`] = "j";
  return startTestServer({}, users);
}

/** Juliet logs out; romeo has seen her go (so the next round starts clean). */
async function leave(juliet: TestClient, romeo: TestClient, jid: string): Promise<void> {
  juliet.close();
  await romeo.stanza((e) => e.attrs.from === `${jid}/j` && e.attrs.type === "unavailable");
}

Deno.test("an approval reaches the subscriber as push, then subscribed, then presence", async () => {
  const server = await serverWithJuliets();
  try {
    const romeo = await imLogin(server, "alice", "a", "r");
    for (let i = 0; i < ROUNDS; i++) {
      // A fresh contact each round (her roster is loaded when she logs in),
      // so every round starts from none/none.
      const juliet = await imLogin(server, `juliet${i}`, "j", "j");
      const jid = `juliet${i}@localhost`;
      romeo.send(`<presence to='${jid}' type='subscribe'/>`);
      assert.deepEqual(await nextStanzas(romeo, 1), [`push ${jid} none ask`], `round ${i}`);
      await juliet.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");

      juliet.send(`<presence to='alice@localhost' type='subscribed'/>`);
      assert.deepEqual(
        await nextStanzas(romeo, 3),
        [`push ${jid} to`, `presence subscribed ${jid}`, `presence available ${jid}/j`],
        `round ${i}`,
      );
      await romeo.nothing(() => true, 50);
      await leave(juliet, romeo, jid);
    }
    romeo.close();
  } finally {
    await server.stop();
  }
});

Deno.test("a pre-approved request: the server's approval comes in the same order", async () => {
  const server = await serverWithJuliets();
  try {
    const romeo = await imLogin(server, "alice", "a", "r");
    for (let i = 0; i < ROUNDS; i++) {
      const juliet = await imLogin(server, `juliet${i}`, "j", "j");
      const jid = `juliet${i}@localhost`;
      // §3.4: juliet approves before romeo asks; her server answers for her.
      juliet.send(`<presence to='alice@localhost' type='subscribed'/>`);
      await juliet.stanza((e) => e.name === "iq" && e.attrs.type === "set");
      romeo.send(`<presence to='${jid}' type='subscribe'/>`);
      assert.deepEqual(
        await nextStanzas(romeo, 4),
        [
          `push ${jid} none ask`,
          `push ${jid} to`,
          `presence subscribed ${jid}`,
          `presence available ${jid}/j`,
        ],
        `round ${i}`,
      );
      await leave(juliet, romeo, jid);
    }
    romeo.close();
  } finally {
    await server.stop();
  }
});

Deno.test("the same order when the approval and the presence cross an s2s link", async () => {
  const [a, b] = await serverPair();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) await b.auth.createUser("b.test", `juliet${i}`, "j");
  const romeo = await imAt(a, "alice", "wonderland", "a.test", "r");
  try {
    for (let i = 0; i < rounds; i++) {
      const juliet = await imAt(b, `juliet${i}`, "j", "b.test", "j");
      const jid = `juliet${i}@b.test`;
      romeo.send(`<presence to='${jid}' type='subscribe'/>`);
      assert.deepEqual(await nextStanzas(romeo, 1), [`push ${jid} none ask`], `round ${i}`);
      await juliet.stanza((e) => e.name === "presence" && e.attrs.type === "subscribe");

      juliet.send(`<presence to='alice@a.test' type='subscribed'/>`);
      assert.deepEqual(
        await nextStanzas(romeo, 3),
        [`push ${jid} to`, `presence subscribed ${jid}`, `presence available ${jid}/j`],
        `round ${i}`,
      );
      await leave(juliet, romeo, jid);
    }
  } finally {
    romeo.close();
    await a.stop();
    await b.stop();
  }
});

/** imLogin at another domain than localhost: roster fetched, then presence echoed. */
async function imAt(
  server: TestServer,
  user: string,
  password: string,
  domain: string,
  resource: string,
): Promise<TestClient> {
  const c = await loginAt(server, user, password, domain, resource);
  await c.stanza((e) => e.name === "presence" && e.attrs.from === c.jid);
  c.send(`<iq type='get' id='roster0'><query xmlns='${ROSTER}'/></iq>`);
  await c.stanza((e) => e.attrs.id === "roster0");
  return c;
}
