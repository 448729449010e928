import assert from "node:assert/strict";
import { IqProxy } from "../../src/modules/muc/iq_proxy.ts";
import { Occupant, Room } from "../../src/modules/muc/room.ts";
import { defaultRoomConfig } from "../../src/modules/muc/types.ts";
import type { MucService } from "../../src/modules/muc/service.ts";
import { el, type Element } from "../../src/xml/element.ts";
import { StanzaError } from "../../src/core/errors.ts";

function setup() {
  const sent: Element[] = [];
  const svc = { send: (s: Element) => sent.push(s) } as unknown as MucService;
  const room = new Room("r", "r@muc.test", defaultRoomConfig(100, 20));
  const occupant = (nick: string, bare: string) => {
    const o = new Occupant(nick, bare, "participant", 10);
    o.sessions.set(`${bare}/res`, el("presence"));
    return o;
  };
  return {
    proxy: new IqProxy(svc),
    sent,
    room,
    mallory: occupant("M", "mallory@test"),
    alice: occupant("A", "alice@test"),
    bob: occupant("B", "bob@test"),
  };
}

const ping = (id: string) => el("iq", { type: "get", id }, el("ping", { xmlns: "urn:xmpp:ping" }));

Deno.test("muc iq proxy: one requester's flood is refused, others' requests still answered", () => {
  const { proxy, sent, room, mallory, alice, bob } = setup();
  proxy.forward(room, alice, "alice@test/res", bob, ping("a1"));
  const toBob = sent[0].attrs.id;
  let refused = 0;
  for (let i = 0; i < 2000; i++) {
    try {
      proxy.forward(room, mallory, "mallory@test/res", bob, ping(`m${i}`));
    } catch (e) {
      assert.ok(e instanceof StanzaError);
      assert.equal(e.condition, "resource-constraint");
      refused++;
    }
  }
  assert.equal(refused, 2000 - 16);
  // Alice's request survived Mallory's flood: its answer reaches her.
  const mallorys = sent[1].attrs.id;
  sent.length = 0;
  assert.ok(proxy.answer(el("iq", { type: "result", id: toBob, from: "bob@test/res" })));
  assert.equal(sent[0].attrs.to, "alice@test/res");
  assert.equal(sent[0].attrs.id, "a1");
  // An answer frees its requester's slot.
  assert.ok(proxy.answer(el("iq", { type: "result", id: mallorys, from: "bob@test/res" })));
  proxy.forward(room, mallory, "mallory@test/res", bob, ping("again"));
  assert.throws(() => proxy.forward(room, mallory, "mallory@test/res", bob, ping("more")));
});
