/**
 * Prosody's stored values (parsed Lua, see import_prosody_lua.ts) turned
 * into what Parley's modules store. Each function returns undefined (or
 * a reason) for data it cannot use, never throws on odd input: a data
 * directory may hold files from older Prosody versions or community
 * modules.
 */
import { Element, serialize } from "../xml/element.ts";
import { binaryBytes, LuaTable, type LuaValue, utf8Text } from "./import_prosody_lua.ts";
import type { ScramCredentials } from "../auth/types.ts";
import { encodeBase64 } from "../util/base64.ts";
import { Roster } from "../modules/roster/roster_store.ts";
import type { Subscription } from "../modules/roster/subscriptions.ts";
import { parseJid } from "../jid.ts";
import { parseElement } from "../util/xml_fragment.ts";
import type { Json } from "../storage/types.ts";
import { DEFAULT_CONFIG } from "../modules/pubsub/engine/config.ts";
import type { NodeConfig, StoredItem, StoredNode } from "../modules/pubsub/engine/types.ts";
import { MAX_SUBSCRIPTION_JID } from "../modules/pubsub/engine/subscription_changes.ts";
import { PEP_SUBSCRIPTION_LIMITS } from "../modules/pubsub/pep/service.ts";

/** Deepest stanza nesting converted (the Lua reader already bounds depth at 64). */
const MAX_ELEMENT_DEPTH = 64;

function text(v: LuaValue | undefined): string | undefined {
  return typeof v === "string" ? utf8Text(v) : undefined;
}

function table(v: LuaValue | undefined): LuaTable | undefined {
  return v instanceof LuaTable ? v : undefined;
}

/**
 * A stanza as Prosody's util.stanza serializes it: `name`, `attr` and the
 * children as the array part (strings and tables). `skipAttrs` drops
 * attributes of the root (the archive store's `stamp`).
 */
export function elementFromLua(
  v: LuaValue | undefined,
  skipAttrs: readonly string[] = [],
  depth = 0,
): Element | undefined {
  const t = table(v);
  const name = text(t?.get("name"));
  if (!t || !name || depth > MAX_ELEMENT_DEPTH) return undefined;
  const attrs: Record<string, string> = {};
  for (const [k, a] of table(t.get("attr"))?.stringEntries() ?? []) {
    const key = utf8Text(k);
    const value = text(a);
    if (key !== undefined && value !== undefined && !skipAttrs.includes(key)) attrs[key] = value;
  }
  const e = new Element(name, attrs, []);
  for (const c of t.list()) {
    if (typeof c === "string") {
      const s = utf8Text(c);
      if (s === undefined) return undefined;
      e.children.push(s);
    } else {
      const kid = elementFromLua(c, [], depth + 1);
      if (!kid) return undefined;
      e.children.push(kid);
    }
  }
  return e;
}

export type AccountSecret =
  | { kind: "scram-sha-1"; credentials: ScramCredentials }
  | { kind: "password"; password: string };

function hexBytes(s: string | undefined, length: number): Uint8Array | undefined {
  if (s === undefined || !new RegExp(`^[0-9a-fA-F]{${length * 2}}$`).test(s)) return undefined;
  return Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));
}

/**
 * An `accounts/<user>.dat` record. internal_hashed keeps SCRAM-SHA-1's
 * StoredKey and ServerKey as hex, the salt as raw bytes and the
 * iteration count: exactly what a SCRAM server needs, so they carry over
 * as they are. internal_plain keeps the password itself.
 */
export function accountFromLua(v: LuaValue): AccountSecret | string {
  const t = table(v);
  if (!t) return "not an account record";
  const storedKey = hexBytes(text(t.get("stored_key")), 20);
  const serverKey = hexBytes(text(t.get("server_key")), 20);
  const salt = t.get("salt");
  const iterations = t.get("iteration_count");
  if (storedKey && serverKey && typeof salt === "string" && typeof iterations === "number") {
    if (!Number.isInteger(iterations) || iterations < 1) return "bad iteration_count";
    return {
      kind: "scram-sha-1",
      credentials: {
        salt: encodeBase64(binaryBytes(salt)),
        iterations,
        storedKey: encodeBase64(storedKey),
        serverKey: encodeBase64(serverKey),
      },
    };
  }
  const password = text(t.get("password"));
  if (password !== undefined && password !== "") return { kind: "password", password };
  if (t.get("stored_key") !== undefined) return "SCRAM keys that are not SHA-1 (20 bytes hex)";
  return "no SCRAM-SHA-1 keys and no password";
}

const SUBSCRIPTIONS: readonly string[] = ["none", "to", "from", "both"];

/** A `roster/<user>.dat`: contacts keyed by JID, `[false]` holding version and pending requests. */
export function rosterFromLua(v: LuaValue): { json: Json; items: number } | undefined {
  const t = table(v);
  if (!t) return undefined;
  const roster = new Roster();
  for (const [k, raw] of t.stringEntries()) {
    const jid = parseJid(utf8Text(k) ?? "");
    const item = table(raw);
    if (!jid || !item || jid.resource !== undefined) continue;
    const subscription = text(item.get("subscription")) ?? "none";
    const groups = [...(table(item.get("groups"))?.stringEntries() ?? [])]
      .filter(([, on]) => on === true)
      .map(([g]) => utf8Text(g))
      .filter((g): g is string => g !== undefined && g !== "");
    roster.items.set(jid.bare, {
      jid: jid.bare,
      name: text(item.get("name")) || undefined,
      groups,
      subscription: (SUBSCRIPTIONS.includes(subscription) ? subscription : "none") as Subscription,
      ask: text(item.get("ask")) === "subscribe",
      approved: item.get("approved") === true || text(item.get("approved")) === "true",
    });
  }
  const meta = table(t.get(false));
  const version = meta?.get("version");
  // One past Prosody's, so a client's cached roster version never matches by chance.
  roster.version = (typeof version === "number" && Number.isSafeInteger(version) ? version : 0) + 1;
  for (const [k, stanza] of table(meta?.get("pending"))?.stringEntries() ?? []) {
    const jid = parseJid(utf8Text(k) ?? "");
    if (jid && stanza !== false) {
      roster.applyState(
        jid.bare,
        { ...roster.state(jid.bare), pendingIn: true },
        pendingRequest(jid.bare, stanza),
      );
    }
  }
  return { json: roster.toJson(), items: roster.items.size };
}

/**
 * A pending request as it is re-sent at each login: a subscribe presence
 * from the contact, whatever Prosody kept (`true` in older versions, else
 * the stanza). Of a kept stanza only the children stay (a status, a nick),
 * and only when they read back as XML: names in the data are not checked
 * otherwise, and this element goes out as it is, unlike stored payloads,
 * which are parsed again when served. The roster bounds what it keeps.
 */
function pendingRequest(contact: string, stanza: LuaValue): Element {
  const request = new Element("presence", { from: contact, type: "subscribe" }, []);
  const kept = elementFromLua(stanza);
  if (!kept) return request;
  const children = new Element("x", {}, kept.children);
  request.children = parseElement(serialize(children))?.children ?? [];
  return request;
}

/** A `vcard/<user>.dat`: the vcard-temp element, serialized as Parley stores it. */
export function vcardFromLua(v: LuaValue): string | undefined {
  const e = elementFromLua(v);
  return e && e.name === "vCard" ? serialize(e) : undefined;
}

/** A `private/<user>.dat`: elements keyed "name:namespace" → Parley's "name namespace" keys. */
export function privateFromLua(v: LuaValue): Map<string, string> {
  const out = new Map<string, string>();
  for (const [, raw] of table(v)?.stringEntries() ?? []) {
    const e = elementFromLua(raw);
    const ns = e?.attrs.xmlns;
    if (e && ns) out.set(e.name + " " + ns, serialize(e));
  }
  return out;
}

/** A `blocklist/<user>.dat`: blocked JIDs as keys (`[false]` holds timestamps). */
export function blocklistFromLua(v: LuaValue): string[] {
  const out: string[] = [];
  for (const [k] of table(v)?.stringEntries() ?? []) {
    const jid = parseJid(utf8Text(k) ?? "");
    if (jid) out.push(jid.toString());
  }
  return out;
}

/** Attributes the internal archive store adds to each item's root. */
const ARCHIVE_ATTRS = ["stamp", "stamp_legacy"];

export interface ArchivedStanza {
  id?: string;
  /** ms since the epoch */
  when: number;
  element: Element;
}

/** One item of a `.list` archive store (offline messages, PEP items): key/when/with beside the stanza. */
export function archiveItemFromLua(v: LuaValue): ArchivedStanza | undefined {
  const t = table(v);
  const element = elementFromLua(v, ARCHIVE_ATTRS);
  if (!t || !element) return undefined;
  // Seconds since the epoch; a time the archive cannot hold (negative, or
  // past a safe integer of milliseconds) counts as missing: now.
  const when = t.get("when");
  const ms = typeof when === "number" ? Math.round(when * 1000) : NaN;
  return {
    id: text(t.get("key")),
    when: Number.isSafeInteger(ms) && ms >= 0 ? ms : Date.now(),
    element,
  };
}

const CONFIG_ENUMS: Record<string, readonly string[]> = {
  access_model: ["open", "presence", "roster", "whitelist", "authorize"],
  publish_model: ["publishers", "subscribers", "open"],
  send_last_published_item: ["never", "on_sub", "on_sub_and_presence"],
  notification_type: ["headline", "normal"],
};

/** A PEP node's configuration: Prosody's keys, where they mean what Parley's do; PEP defaults otherwise. */
function nodeConfigFromLua(v: LuaValue | undefined): NodeConfig {
  const config: NodeConfig = { ...DEFAULT_CONFIG, access_model: "presence" };
  const c = config as unknown as Record<string, unknown>;
  for (const [k, raw] of table(v)?.stringEntries() ?? []) {
    const key = k.replace(/^pubsub#/, "");
    if (!(key in config)) continue;
    const current = c[key];
    if (key in CONFIG_ENUMS) {
      const s = text(raw);
      if (s && CONFIG_ENUMS[key].includes(s)) c[key] = s;
    } else if (key === "max_items") {
      if (typeof raw === "number" && Number.isInteger(raw) && raw > 0) c[key] = raw;
      else if (text(raw) === "max") c[key] = "max";
    } else if (typeof current === "boolean" && typeof raw === "boolean") {
      c[key] = raw;
    } else if (typeof current === "string" && typeof raw === "string") {
      c[key] = text(raw) ?? current;
    } else if (key === "roster_groups_allowed" && raw instanceof LuaTable) {
      c[key] = raw.list().map(text).filter((g) => g !== undefined);
    }
  }
  return config;
}

/** A PEP node from `pep/<user>.dat` with its items from `pep_<node>/<user>.list`. */
export function pepNodeFromLua(
  owner: string,
  name: string,
  v: LuaValue,
  items: ArchivedStanza[],
): { node: StoredNode; items: StoredItem[]; droppedSubscriptions: number } {
  const t = table(v);
  const config = nodeConfigFromLua(t?.get("config"));
  const affiliations: StoredNode["affiliations"] = {};
  for (const [k, a] of table(t?.get("affiliations"))?.stringEntries() ?? []) {
    const jid = parseJid(utf8Text(k) ?? "");
    const aff = text(a);
    if (jid && aff && ["owner", "publisher", "publish-only", "member", "outcast"].includes(aff)) {
      affiliations[jid.bare] = aff as StoredNode["affiliations"][string];
    }
  }
  affiliations[owner] = "owner";
  // Within what the server lets a PEP node have (its record is written
  // whole on each publish): the rest are counted, for the report.
  const subscriptions: StoredNode["subscriptions"] = {};
  let subscribed = 0;
  let droppedSubscriptions = 0;
  for (const [k, on] of table(t?.get("subscribers"))?.stringEntries() ?? []) {
    const jid = parseJid(utf8Text(k) ?? "");
    if (!jid || !on) continue;
    const key = jid.toString();
    if (subscriptions[key]) continue;
    if (
      key.length > MAX_SUBSCRIPTION_JID ||
      subscribed >= PEP_SUBSCRIPTION_LIMITS.maxSubscriptionsPerNode
    ) {
      droppedSubscriptions++;
      continue;
    }
    subscriptions[key] = "subscribed";
    subscribed++;
  }
  // Prosody keeps one item per id (a republish replaces it): the latest wins, in order.
  const byId = new Map<string, StoredItem>();
  for (const item of items) {
    if (!item.id) continue;
    byId.delete(item.id);
    byId.set(item.id, {
      id: item.id,
      payload: serialize(item.element),
      publisher: owner,
      when: item.when,
    });
  }
  let kept = [...byId.values()];
  if (typeof config.max_items === "number") kept = kept.slice(-config.max_items);
  return {
    node: {
      name,
      config,
      affiliations,
      subscriptions,
      items: kept.map((i) => i.id),
      bytes: kept.map((i) => new TextEncoder().encode(i.payload).length),
      created: kept[0]?.when ?? Date.now(),
    },
    items: kept,
    droppedSubscriptions,
  };
}
