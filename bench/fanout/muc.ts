/**
 * MUC fan-out: `occupants` users (muc1..mucN) join one fresh room at
 * conference.<domain>; muc1 sends groupchat messages; a message's fan-out
 * time ends when the last occupant (the sender's own echo included) has it.
 */
import { BenchClient, pool, type Target } from "./client.ts";
import { Tracker } from "./tracker.ts";

const NS_MUC = "http://jabber.org/protocol/muc";
const mucUser = (i: number) => `muc${i}`;

export interface MucOptions {
  occupants: number;
  messages: number;
  gapMs: number;
  window: number;
  seconds: number;
  concurrency: number;
  serverPid?: number;
}

function isSelfPresence(e: { name: string; attrs: Record<string, string> }, occ: string) {
  return e.name === "presence" && e.attrs.from === occ;
}

export async function runMuc(t: Target, o: MucOptions) {
  const room = `fanout${Date.now()}@conference.${t.domain}`;
  const users = Array.from({ length: o.occupants }, (_, i) => i + 1);
  const clients: BenchClient[] = [];
  const t0 = performance.now();
  await pool(users, o.concurrency, async (i) => {
    clients[i - 1] = await BenchClient.login(t, mucUser(i));
  });
  const loginSecs = (performance.now() - t0) / 1000;

  const join = async (c: BenchClient, i: number) => {
    const occ = `${room}/u${i}`;
    const self = c.waitFor((e) => isSelfPresence(e, occ));
    c.send(`<presence to='${occ}'><x xmlns='${NS_MUC}'><history maxstanzas='0'/></x></presence>`);
    const p = await self;
    if (p.attrs.type === "error") throw new Error(`join ${occ}: ${p}`);
    return p;
  };
  const t1 = performance.now();
  const created = await join(clients[0], 1);
  if (created.toString().includes("code='201'") || created.toString().includes('code="201"')) {
    const r = await clients[0].iq(
      `<iq type='set' id='ID' to='${room}'><query xmlns='${NS_MUC}#owner'>` +
        `<x xmlns='jabber:x:data' type='submit'/></query></iq>`,
    );
    if (r.attrs.type !== "result") throw new Error(`instant room: ${r}`);
  }
  await pool(users.slice(1), o.concurrency, async (i) => {
    await join(clients[i - 1], i);
  });
  const joinSecs = (performance.now() - t1) / 1000;

  const tracker = new Tracker(o.occupants);
  const prefix = "fanout ";
  for (const c of clients) {
    c.onStanza = (e) => {
      if (e.name !== "message" || e.attrs.type !== "groupchat") return;
      const body = e.getChildText("body");
      if (body?.startsWith(prefix)) tracker.hit(Number(body.slice(prefix.length)));
    };
  }
  const sender = clients[0];
  const send = (k: number) =>
    sender.send(
      `<message to='${room}' type='groupchat' id='m${k}'><body>${prefix}${k}</body></message>`,
    );

  const { spaced, closed } = await tracker.measure(o.messages, o, send);
  for (const c of clients) c.close();
  return {
    scenario: "muc",
    room,
    occupants: o.occupants,
    loginSecs: Math.round(loginSecs * 10) / 10,
    joinSecs: Math.round(joinSecs * 10) / 10,
    spaced: { messages: o.messages, gapMs: o.gapMs, ...spaced },
    closed: { window: o.window, ...closed },
    shortfalls: tracker.shortfalls,
  };
}
