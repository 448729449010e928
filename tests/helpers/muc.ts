/**
 * MUC tests: a server with its MUC service host `conference.localhost`, clients logged in, joining rooms and reading status codes.
 */
import type { Element } from "../../src/xml/element.ts";
import { iq, TestClient } from "./client.ts";
import { merge, startTestServer, type TestServer } from "./server.ts";
import { onlineLogin } from "./online.ts";

const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";

export const MUC = "conference.localhost";
export const NS_MUC = "http://jabber.org/protocol/muc";
export const NS_MUC_USER = NS_MUC + "#user";
export const NS_MUC_ADMIN = NS_MUC + "#admin";
export const NS_MUC_OWNER = NS_MUC + "#owner";

export const USERS = { alice: "wonderland", bob: "builder", carol: "singer", dave: "diver" };

/** The service host `conference.localhost` (`muc.domain`'s default) of the user host `localhost`. */
export function mucConfig(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return merge({ hosts: ["localhost"], muc: { enabled: true } }, overrides);
}

export async function startMucServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return await startTestServer(mucConfig(overrides), USERS);
}

/** Log in one of USERS (resource "r" unless named), online. */
export const login = onlineLogin(USERS);

type User = keyof typeof USERS;

/** startMucServer with `overrides`, and `users` logged in (in that order), by name. */
export async function startMucWith<U extends User>(
  users: U[],
  overrides: Record<string, unknown> = {},
): Promise<{ server: TestServer } & Record<U, TestClient>> {
  const server = await startMucServer(overrides);
  const clients = {} as Record<U, TestClient>;
  for (const user of users) clients[user] = await login(server, user);
  return { server, ...clients };
}

/**
 * A MUC server with `users` logged in for the length of `fn`: every client
 * closed and the server stopped afterwards, whatever `fn` did.
 */
export async function withMuc<U extends User>(
  users: U[],
  fn: (ctx: { server: TestServer } & Record<U, TestClient>) => Promise<void>,
  overrides: Record<string, unknown> = {},
): Promise<void> {
  const ctx = await startMucWith(users, overrides);
  try {
    await fn(ctx);
  } finally {
    for (const user of users) ctx[user].close();
    await ctx.server.stop();
  }
}

/** Alice creates `room` (instant) as Alice, bob joins as Bob, and alice has seen him come in. */
export async function aliceAndBobIn(alice: TestClient, bob: TestClient, room: string) {
  await createRoom(alice, room, "Alice");
  await join(bob, room, "Bob");
  await presenceFrom(alice, `${room}/Bob`);
}

/** Register `nick` with `room` (XEP-0045 §7.10): the room's answer. */
export function registerNick(
  c: TestClient,
  room: string,
  id: string,
  nick: string,
): Promise<Element> {
  return iq(
    c,
    id,
    `<iq type='set' id='${id}' to='${room}'><query xmlns='jabber:iq:register'><x xmlns='jabber:x:data' type='submit'>` +
      `<field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#register</value></field>` +
      `<field var='muc#register_roomnick'><value>${nick}</value></field></x></query></iq>`,
  );
}

/** The features a room lists in its disco#info. */
export async function roomFeatures(c: TestClient, room: string): Promise<string[]> {
  const info = await iq(
    c,
    "di",
    `<iq type='get' id='di' to='${room}'><query xmlns='${NS_DISCO_INFO}'/></iq>`,
  );
  return info.getChild("query", NS_DISCO_INFO)!.getChildren("feature").map((f) => f.attrs.var);
}

export function statusCodes(stanza: Element): string[] {
  return stanza.getChild("x", NS_MUC_USER)?.getChildren("status").map((s) => s.attrs.code) ?? [];
}

export function mucItem(stanza: Element): Element | undefined {
  return stanza.getChild("x", NS_MUC_USER)?.getChild("item");
}

/** Presence from `room/nick` to this client. */
export function presenceFrom(c: TestClient, occupant: string, type?: string): Promise<Element> {
  return c.stanza((e) =>
    e.name === "presence" && e.attrs.from === occupant && e.attrs.type === type
  );
}

/**
 * Join `room` as `nick` and read up to the subject. Returns the
 * self-presence (110); `others` counts the occupant presences before it.
 */
export async function join(
  c: TestClient,
  room: string,
  nick: string,
  extra = "",
): Promise<{ self: Element; before: Element[]; history: Element[]; subject: Element }> {
  c.send(`<presence to='${room}/${nick}'><x xmlns='${NS_MUC}'>${extra}</x></presence>`);
  const self = await c.stanza((e) =>
    (e.name === "presence" && e.attrs.from === `${room}/${nick}` &&
      statusCodes(e).includes("110")) ||
    (e.name === "presence" && e.attrs.type === "error")
  );
  if (self.attrs.type === "error") return { self, before: [], history: [], subject: self };
  const before: Element[] = [];
  const history: Element[] = [];
  // Occupants came before the self-presence; history and subject after.
  for (let i = 0; i < 100; i++) {
    const idx = c.frames.findIndex((f) =>
      f.kind === "stanza" && f.element.name === "presence" &&
      f.element.attrs.from?.startsWith(room + "/")
    );
    if (idx < 0) break;
    before.push((c.frames.splice(idx, 1)[0] as { element: Element }).element);
  }
  let subject: Element | undefined;
  for (let i = 0; i < 200 && !subject; i++) {
    const m = await c.stanza((e) =>
      e.name === "message" && e.attrs.type === "groupchat" && (e.attrs.from ?? "").startsWith(room)
    );
    if (m.getChild("subject") !== undefined && m.getChild("body") === undefined) subject = m;
    else history.push(m);
  }
  return { self, before, history, subject: subject! };
}

/** Create a room and make it an instant room (§10.1.2), or configured with `fields`. */
export async function createRoom(
  c: TestClient,
  room: string,
  nick: string,
  fields: Record<string, string> = {},
): Promise<Element> {
  const { self } = await join(c, room, nick);
  if (!statusCodes(self).includes("201")) throw new Error("room not created: " + self);
  await configure(c, room, fields);
  return self;
}

let n = 0;

export async function configure(
  c: TestClient,
  room: string,
  fields: Record<string, string>,
): Promise<Element> {
  const id = `cfg-${++n}`;
  const form = Object.entries(fields).map(([k, v]) =>
    `<field var='muc#roomconfig_${k}'><value>${v}</value></field>`
  ).join("");
  c.send(
    `<iq type='set' id='${id}' to='${room}'><query xmlns='${NS_MUC_OWNER}'>` +
      `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>${NS_MUC}#roomconfig</value></field>${form}</x></query></iq>`,
  );
  const reply = await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
  if (reply.attrs.type !== "result") throw new Error("configuration failed: " + reply);
  return reply;
}

/** An admin set with one item; returns the iq reply. */
export async function admin(c: TestClient, room: string, item: string): Promise<Element> {
  const id = `adm-${++n}`;
  c.send(
    `<iq type='set' id='${id}' to='${room}'><query xmlns='${NS_MUC_ADMIN}'>${item}</query></iq>`,
  );
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}
