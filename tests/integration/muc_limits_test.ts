/**
 * The service's bounds hold: rooms per service, affiliations per room,
 * messages per occupant; shutdown tells occupants (332); loaded on a
 * user host by mistake, the module stays out of the way.
 */
import assert from "node:assert/strict";
import { errorCondition } from "../helpers/client.ts";
import {
  admin,
  createRoom,
  join,
  login,
  MUC,
  presenceFrom,
  startMucServer,
  statusCodes,
} from "../helpers/muc.ts";
import { startTestServer } from "../helpers/server.ts";
import { TestClient } from "../helpers/client.ts";

Deno.test("muc: rooms, affiliations and message rate are bounded", async () => {
  const server = await startMucServer({
    muc: { maxRooms: 1, maxAffiliations: 2, messagesPerSecond: 0.001, messageBurst: 2 },
  });
  const alice = await login(server, "alice");
  try {
    const room = `one@${MUC}`;
    await createRoom(alice, room, "Alice");
    const second = await join(alice, `two@${MUC}`, "Alice");
    assert.equal(errorCondition(second.self), "resource-constraint");
    // Owner + one more affiliation, then no more.
    let r = await admin(alice, room, `<item jid='bob@localhost' affiliation='member'/>`);
    assert.equal(r.attrs.type, "result");
    r = await admin(alice, room, `<item jid='carol@localhost' affiliation='outcast'/>`);
    assert.equal(errorCondition(r), "resource-constraint");
    // A burst of two, then refused.
    for (const id of ["a", "b", "c"]) {
      alice.send(`<message to='${room}' type='groupchat' id='${id}'><body>${id}</body></message>`);
    }
    await alice.stanza((e) => e.attrs.id === "a" && e.attrs.type === "groupchat");
    await alice.stanza((e) => e.attrs.id === "b" && e.attrs.type === "groupchat");
    const refused = await alice.stanza((e) => e.attrs.id === "c");
    assert.equal(errorCondition(refused), "resource-constraint");
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("muc: a shutdown tells occupants with 332", async () => {
  const server = await startMucServer();
  const alice = await login(server, "alice");
  try {
    const room = `bye@${MUC}`;
    await createRoom(alice, room, "Alice");
    const stopping = server.stop();
    const out = await presenceFrom(alice, `${room}/Alice`, "unavailable");
    assert.deepEqual(statusCodes(out).sort(), ["110", "332"]);
    await stopping;
  } finally {
    alice.close();
  }
});

Deno.test("muc: not loaded on a user host", async () => {
  const server = await startTestServer({ modules: ["roster", "presence", "muc"] });
  const alice = await TestClient.login({
    port: server.ports.c2s,
    user: "alice",
    password: "wonderland",
  });
  const bob = await TestClient.login({ port: server.ports.c2s, user: "bob", password: "builder" });
  try {
    alice.send(`<message to='bob@localhost' type='chat'><body>plain</body></message>`);
    const got = await bob.stanza((e) => e.name === "message");
    assert.equal(got.getChildText("body"), "plain");
  } finally {
    alice.close();
    bob.close();
    await server.stop();
  }
});

Deno.test("muc: one admin request cannot add affiliations past the room's bound", async () => {
  const server = await startMucServer({ muc: { maxAffiliations: 3 } });
  const alice = await login(server, "alice");
  try {
    const room = `batch@${MUC}`;
    await createRoom(alice, room, "Alice");
    // Owner + three new ones in one request: each alone would fit, together they do not.
    const items = ["bob", "carol", "dave"]
      .map((u) => `<item jid='${u}@localhost' affiliation='member'/>`).join("");
    let r = await admin(alice, room, items);
    assert.equal(errorCondition(r), "resource-constraint");
    // Nothing of the refused request was applied: two still fit.
    r = await admin(
      alice,
      room,
      `<item jid='bob@localhost' affiliation='member'/><item jid='carol@localhost' affiliation='member'/>`,
    );
    assert.equal(r.attrs.type, "result");
    // Removing one in the same request makes room for another.
    r = await admin(
      alice,
      room,
      `<item jid='bob@localhost' affiliation='none'/><item jid='dave@localhost' affiliation='member'/>`,
    );
    assert.equal(r.attrs.type, "result");
  } finally {
    alice.close();
    await server.stop();
  }
});

Deno.test("muc: sessions under one nick are bounded by muc.maxSessionsPerOccupant", async () => {
  const server = await startMucServer({ muc: { maxSessionsPerOccupant: 2 } });
  const clients = [
    await login(server, "alice", "one"),
    await login(server, "alice", "two"),
    await login(server, "alice", "three"),
  ];
  try {
    const room = `many@${MUC}`;
    await createRoom(clients[0], room, "Alice");
    const second = await join(clients[1], room, "Alice");
    assert.equal(second.self.attrs.type, undefined);
    // A third session under the nick: each one gets all the room's traffic.
    const third = await join(clients[2], room, "Alice");
    assert.equal(errorCondition(third.self), "resource-constraint");
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});
