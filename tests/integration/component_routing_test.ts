/**
 * One routing path to components: a stanza to a configured component that
 * is not connected gets the same answer whoever sends it (a local client
 * or another component; the s2s case is in component_s2s_test.ts):
 * `service-unavailable` for messages and iq get/set, nothing for errors,
 * iq results and broadcast/unavailable presence (RFC 6120 §8.3.1, §8.2.3).
 * Each silent case is followed by a stanza that does bounce: the first
 * answer seen must be that one.
 */
import assert from "node:assert/strict";
import { TestClient } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { connectComponent } from "../helpers/component.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { Element } from "../../src/xml/element.ts";

const ONLINE = "bots.localhost";
const OFFLINE = "gone.example";
const SECRET = "s3cret";

function start(): Promise<TestServer> {
  return startTestServer({
    components: { [ONLINE]: { secret: SECRET }, [OFFLINE]: { secret: SECRET } },
  });
}

function unavailable(e: Element): boolean {
  return e.attrs.type === "error" &&
    e.getChild("error")?.getChild("service-unavailable", NS.stanzas) !== undefined;
}

/** Send the silent cases from `from` (when given), then a bouncing message; check the order. */
async function check(sender: TestClient, from: string): Promise<void> {
  const f = from ? ` from='${from}'` : "";
  const to = `x@${OFFLINE}`;
  sender.send(`<presence${f} to='${to}'/>`);
  sender.send(`<presence${f} to='${to}' type='unavailable'/>`);
  sender.send(`<iq${f} to='${to}' type='result' id='r1'/>`);
  sender.send(`<message${f} to='${to}' type='error' id='e1'/>`);
  sender.send(`<iq${f} to='${OFFLINE}' type='get' id='g1'><ping xmlns='urn:xmpp:ping'/></iq>`);
  const iq = await sender.stanza((e) => e.attrs.from?.endsWith(OFFLINE) === true);
  assert.equal(iq.attrs.id, "g1", "nothing answered before the iq get");
  assert.ok(unavailable(iq), iq.toString());
  sender.send(`<message${f} to='${to}' id='m1'><body>hi</body></message>`);
  const msg = await sender.stanza((e) => e.attrs.from?.endsWith(OFFLINE) === true);
  assert.equal(msg.attrs.id, "m1");
  assert.ok(unavailable(msg), msg.toString());
}

Deno.test("component routing: a local client's stanzas to a disconnected component", async () => {
  const server = await start();
  try {
    const alice = await TestClient.login({
      port: server.ports.c2s,
      user: "alice",
      password: "wonderland",
      resource: "r",
    });
    await check(alice, "");
    alice.close();
  } finally {
    await server.stop();
  }
});

Deno.test("component routing: another component's stanzas to a disconnected component", async () => {
  const server = await start();
  try {
    const bot = await connectComponent(server, ONLINE, SECRET);
    await check(bot, `a@${ONLINE}`);
    bot.close();
  } finally {
    await server.stop();
  }
});
