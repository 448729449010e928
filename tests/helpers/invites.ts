/** Shared by the invitation tests: an unauthenticated stream, IBR with a token, rosters. */
import { errorCondition, TestClient } from "./client.ts";
import type { TestServer } from "./server.ts";
import type { Element } from "../../src/xml/element.ts";
import { DEFAULT_MODULES } from "../../src/config/schema.ts";
import { type Invite, InviteStore } from "../../src/modules/invites/store.ts";

export const NS_REGISTER = "jabber:iq:register";
export const NS_PARS = "urn:xmpp:pars:0";
export const INVITE_MODULES = [...DEFAULT_MODULES, "invites"];

/** An invite of `inviter` stored straight into the server's invites store, valid for an hour. */
export function storeInvite(
  server: TestServer,
  inviter: string,
  opts: { uses?: number; roster?: boolean } = {},
): Promise<Invite> {
  return new InviteStore(server.storage.map("localhost", "invites")).create({
    inviter,
    ttlMs: 3_600_000,
    uses: opts.uses ?? 1,
    roster: opts.roster ?? false,
  });
}

/** A client past STARTTLS, not authenticated. */
export async function unauthenticated(server: TestServer): Promise<TestClient> {
  const c = await TestClient.connect({ port: server.ports.c2s });
  await c.open();
  await c.starttls();
  await c.open();
  return c;
}

export async function rawIq(
  c: TestClient,
  id: string,
  type: string,
  xml: string,
): Promise<Element> {
  c.send(`<iq type='${type}' id='${id}'>${xml}</iq>`);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

/** XEP-0445: preauth, then register. The error condition of the step that failed, or "ok". */
export async function registerWithToken(
  server: TestServer,
  token: string | undefined,
  user: string,
  password: string,
): Promise<string> {
  const c = await unauthenticated(server);
  try {
    if (token !== undefined) {
      const pre = await rawIq(c, "pre", "set", `<preauth xmlns='${NS_PARS}' token='${token}'/>`);
      if (pre.attrs.type !== "result") return errorCondition(pre) ?? "error";
    }
    const reg = await rawIq(
      c,
      "reg",
      "set",
      `<query xmlns='${NS_REGISTER}'><username>${user}</username><password>${password}</password></query>`,
    );
    return reg.attrs.type === "result" ? "ok" : errorCondition(reg) ?? "error";
  } finally {
    c.close();
  }
}

/** The token of an `xmpp:` invite URI or landing URL. */
export function tokenOf(uri: string): string {
  const m = /preauth=([^;&\s]+)/.exec(uri) ?? /\/invite\/([^/\s]+)/.exec(uri);
  if (!m) throw new Error(`no token in ${uri}`);
  return decodeURIComponent(m[1]);
}

/** The subscription of each roster item, by JID. */
export async function rosterOf(c: TestClient): Promise<Record<string, string>> {
  const r = await rawIq(
    c,
    "roster-" + crypto.randomUUID().slice(0, 6),
    "get",
    "<query xmlns='jabber:iq:roster'/>",
  );
  const items: Record<string, string> = {};
  for (const item of r.getChild("query", "jabber:iq:roster")?.getChildren("item") ?? []) {
    items[item.attrs.jid!] = item.attrs.subscription ?? "none";
  }
  return items;
}
