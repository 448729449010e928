/**
 * One Prosody host's data into Parley's stores: accounts first, then the
 * other stores of the accounts imported in this run only — an account
 * that already exists here keeps its own data untouched, and data of
 * users without an account (left behind by Prosody) is skipped.
 */
import type { StorageDriver } from "../storage/types.ts";
import type { AuthProvider } from "../auth/types.ts";
import type { Tombstones } from "../core/tombstones.ts";
import { importedAccountRecord } from "../auth/internal_provider.ts";
import { prepareUsername } from "../auth/username.ts";
import { parseJid } from "../jid.ts";
import { serialize } from "../xml/element.ts";
import {
  type Parsed,
  type ProsodyFile,
  type ProsodyHost,
  readProsodyFile,
} from "./import_prosody_read.ts";
import {
  accountFromLua,
  type ArchivedStanza,
  archiveItemFromLua,
  blocklistFromLua,
  pepNodeFromLua,
  privateFromLua,
  rosterFromLua,
  vcardFromLua,
} from "./import_prosody_map.ts";
import { LuaTable, utf8Text } from "./import_prosody_lua.ts";
import { mapStorage } from "../modules/pubsub/engine/storage.ts";

export interface ImportTarget {
  storage: StorageDriver;
  auth: AuthProvider;
  tombstones: Tombstones;
  /** false: a dry run, nothing written. */
  apply: boolean;
}

/** Skipped entries kept for the report, in the order met. */
export const MAX_SKIPPED_KEPT = 1000;

/** What was imported (counts per host and kind) and what was skipped, with why. */
export class ImportTally {
  readonly counts = new Map<string, number>();
  /** The first MAX_SKIPPED_KEPT skipped entries (a malformed file may hold millions). */
  readonly skipped: string[] = [];
  /** Every skipped entry, kept or not. */
  skippedCount = 0;

  add(host: string, kind: string, n = 1): void {
    const key = `${host}\0${kind}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }

  skip(where: string, why: string): void {
    if (++this.skippedCount <= MAX_SKIPPED_KEPT) this.skipped.push(`${where}: ${why}`);
  }

  summary(applied: boolean): string[] {
    if (this.counts.size === 0) return ["nothing to import"];
    return [...this.counts].map(([key, n]) => {
      const [host, kind] = key.split("\0");
      return `${host}: ${applied ? "" : "would import "}${kind}: ${n}`;
    });
  }
}

/** Stores this importer reads; the others are reported as skipped. */
const USER_STORES = ["roster", "vcard", "private", "blocklist", "offline", "pep"];

async function parsed(
  file: ProsodyFile,
  where: string,
  tally: ImportTally,
): Promise<Parsed & { ok: true } | undefined> {
  const p = await readProsodyFile(file);
  if (!p.ok) tally.skip(where, p.error);
  return p.ok ? p : undefined;
}

export async function importHost(
  host: ProsodyHost,
  target: ImportTarget,
  tally: ImportTally,
): Promise<void> {
  const h = host.host;
  for (const name of host.undecodable) tally.skip(name, "name not validly %-encoded UTF-8");
  const imported = await importAccounts(host, target, tally);
  for (const [store, files] of host.stores) {
    if (store === "accounts") continue;
    if (store.startsWith("pep_")) continue; // items, read with their node from pep/
    if (!USER_STORES.includes(store)) {
      if (files.length > 0) {
        tally.skip(`${h}/${store}`, `store not imported (${files.length} files)`);
      }
      continue;
    }
    for (const file of files) {
      const where = `${h}/${store}/${file.user}`;
      if (!imported.has(file.user)) {
        tally.skip(where, "no account imported for this user in this run");
        continue;
      }
      const p = await parsed(file, where, tally);
      if (!p) continue;
      try {
        await importUserStore(host, store, file.user, p, target, tally, where);
      } catch (e) {
        // One user's store (what of it was written stays); the import goes on.
        tally.skip(where, `not written: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
}

async function importAccounts(
  host: ProsodyHost,
  target: ImportTarget,
  tally: ImportTally,
): Promise<Set<string>> {
  const h = host.host;
  const imported = new Set<string>();
  for (const file of host.stores.get("accounts") ?? []) {
    const where = `${h}/accounts/${file.user}`;
    if (file.kind !== "dat") continue;
    const user = prepareUsername(file.user);
    if (user === undefined || user !== file.user) {
      tally.skip(where, "not a valid, prepared username");
      continue;
    }
    if (await target.auth.userExists(h, user)) {
      tally.skip(where, "the account already exists in Parley (left as it is, with its data)");
      continue;
    }
    if (await target.tombstones.reservedUntil(h, user) !== undefined) {
      tally.skip(where, "the name belonged to an account deleted in Parley and is still reserved");
      continue;
    }
    const p = await parsed(file, where, tally);
    if (!p) continue;
    const secret = accountFromLua(p.value!);
    if (typeof secret === "string") {
      tally.skip(where, secret);
      continue;
    }
    if (target.apply) {
      try {
        if (secret.kind === "scram-sha-1") {
          const now = Date.now();
          await target.storage.keyval(h, "accounts").set(
            user,
            importedAccountRecord(secret.credentials, now, now),
          );
        } else if (!(await target.auth.createUser(h, user, secret.password))) {
          tally.skip(where, "the account appeared in Parley meanwhile");
          continue;
        }
      } catch (e) {
        tally.skip(where, `not written: ${e instanceof Error ? e.message : e}`);
        continue;
      }
    }
    imported.add(user);
    tally.add(
      h,
      secret.kind === "scram-sha-1"
        ? "accounts (SCRAM-SHA-1 keys)"
        : "accounts (plaintext passwords, hashed now)",
    );
  }
  return imported;
}

async function importUserStore(
  host: ProsodyHost,
  store: string,
  user: string,
  p: Parsed & { ok: true },
  target: ImportTarget,
  tally: ImportTally,
  where: string,
): Promise<void> {
  const h = host.host;
  const { storage, apply } = target;
  if (store === "offline") {
    if (!p.items) return tally.skip(where, "expected a .list file");
    let n = 0;
    for (const raw of p.items) {
      const item = archiveItemFromLua(raw);
      if (!item || item.element.name !== "message") {
        tally.skip(where, "an item that is not a message");
        continue;
      }
      const from = parseJid(item.element.attrs.from ?? "")?.bare;
      if (apply) {
        await storage.archive(h, "offline").append(user, {
          when: item.when,
          with: from,
          value: { stanza: serialize(item.element) },
        });
      }
      n++;
    }
    return tally.add(h, "offline messages", n);
  }
  if (!p.value) return tally.skip(where, "expected a .dat file");
  if (store === "roster") {
    const roster = rosterFromLua(p.value);
    if (!roster) return tally.skip(where, "not a roster");
    if (apply) await storage.keyval(h, "roster").set(user, roster.json);
    tally.add(h, "rosters");
    return tally.add(h, "roster items", roster.items);
  }
  if (store === "vcard") {
    const vcard = vcardFromLua(p.value);
    if (!vcard) return tally.skip(where, "not a vcard-temp element");
    if (apply) await storage.keyval(h, "vcard").set(user, vcard);
    return tally.add(h, "vCards");
  }
  if (store === "private") {
    const elements = privateFromLua(p.value);
    if (apply) {
      for (const [key, xml] of elements) await storage.map(h, "private").set(user, key, xml);
    }
    return tally.add(h, "private XML elements", elements.size);
  }
  if (store === "blocklist") {
    const jids = blocklistFromLua(p.value);
    if (apply) { for (const jid of jids) await storage.map(h, "blocking").set(user, jid, true); }
    return tally.add(h, "blocked JIDs", jids.length);
  }
  if (store === "pep") return await importPep(host, user, p.value, target, tally, where);
}

async function importPep(
  host: ProsodyHost,
  user: string,
  nodes: unknown,
  target: ImportTarget,
  tally: ImportTally,
  where: string,
): Promise<void> {
  const h = host.host;
  if (!(nodes instanceof LuaTable)) return tally.skip(where, "not a PEP node table");
  const owner = `${user}@${h}`;
  for (const [rawName, raw] of nodes.stringEntries()) {
    const name = utf8Text(rawName);
    if (!name) continue;
    const itemsFile = host.stores.get(`pep_${name}`)?.find((f) => f.user === user);
    const items: ArchivedStanza[] = [];
    if (itemsFile) {
      const p = await parsed(itemsFile, `${h}/pep_${name}/${user}`, tally);
      for (const i of p?.items ?? []) {
        const item = archiveItemFromLua(i);
        if (item) items.push(item);
      }
    }
    const { node, items: kept, droppedSubscriptions } = pepNodeFromLua(owner, name, raw, items);
    if (droppedSubscriptions > 0) {
      tally.skip(
        `${where} node ${name}`,
        `${droppedSubscriptions} subscriptions over the server's limits (too many, or JIDs too long)`,
      );
    }
    if (target.apply) {
      // The stores and keys of PEP (src/modules/pubsub/pep/service.ts).
      const pep = mapStorage(
        target.storage.map(h, "pep_nodes"),
        target.storage.map(h, "pep_items"),
      );
      await pep.setNode(user, name, node);
      for (const item of kept) await pep.setItem(user, name, item.id, item);
    }
    tally.add(h, "PEP nodes");
    tally.add(h, "PEP items", kept.length);
  }
}
