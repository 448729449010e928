/**
 * Findings of the IM core review (RFC 6121, XEP-0191/0160/0054/0049/0012):
 * each test failed before its fix.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { imLogin } from "../helpers/im.ts";
import type { Element } from "../../src/xml/element.ts";

const PASSWORDS: Record<string, string> = { alice: "wonderland", bob: "builder", carol: "c" };

const login = (server: TestServer, user: string, resource: string, presence?: string | false) =>
  imLogin(server, user, PASSWORDS[user], resource, presence);

function presence(from: string, type?: string) {
  return (e: Element) => e.name === "presence" && e.attrs.from === from && e.attrs.type === type;
}

Deno.test("directed presence: the addresses one resource tracks are bounded (roster.maxItems)", async () => {
  const server = await startTestServer({ roster: { maxItems: 2 } }, PASSWORDS);
  try {
    const alice = await login(server, "alice", "a");
    const bob = await login(server, "bob", "b");
    alice.send("<presence to='x1@localhost'/>");
    alice.send("<presence to='x2@localhost'/>");
    // Again to one already tracked: no new address.
    alice.send("<presence to='x2@localhost'><show>away</show></presence>");
    // A third address would grow the set owed unavailable at logout: refused.
    alice.send("<presence to='bob@localhost' id='d3'/>");
    const refused = await alice.stanza((e) => e.name === "presence" && e.attrs.id === "d3");
    assert.equal(refused.attrs.type, "error");
    assert.equal(errorCondition(refused), "resource-constraint");
    await bob.nothing(presence("alice@localhost/a"), 100);
    // Directed unavailable frees a slot.
    alice.send("<presence to='x1@localhost' type='unavailable'/>");
    alice.send("<presence to='bob@localhost'/>");
    await bob.stanza(presence("alice@localhost/a"));
    alice.close();
    await bob.stanza(presence("alice@localhost/a", "unavailable"));
    bob.close();
  } finally {
    await server.stop();
  }
});
