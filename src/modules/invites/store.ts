/**
 * Invitations (XEP-0401) in the host's map store `invites`, one key per
 * token under a fixed owner key, so the CLI (storage opened directly, as
 * adduser does) and the running module read and write the same records.
 * Tokens are 132 random bits, URL-safe: unguessable, and safe in URIs.
 *
 * Beside the records, each inviter's tokens are indexed under the user
 * `inviter:<inviter>` (token → expiry), so counting one user's invites
 * costs that user's invites, not every stored one. The record is the
 * truth and the index a superset of it: an entry is written before its
 * invite and removed after it, and an entry whose invite is gone is
 * dropped when counted. Expired invites leave on sight (lookup, count)
 * and by `sweep`, which walks the records in pages.
 */
import type { Json, MapStore } from "../../storage/types.ts";
import { KeyedQueue } from "../../util/keyed_queue.ts";
import { randomId } from "../../util/random.ts";
import { nextTurn } from "../../util/next_turn.ts";

/** Every invite is kept under this "user" of the map store. */
const OWNER = "";
/** + the inviter: its tokens. ':' is in no localpart, so no account's deletion touches them. */
const BY_INVITER = "inviter:";
/**
 * Key "inviter-index" under this user: set once every stored invite has
 * its index entry. Data from before the index has none: the first sweep
 * (the server's at start, or one a count waits for) builds it, once per host.
 */
const META = "meta:";
const INDEXED = "inviter-index";
/** Records read per storage call when walking them all. */
export const SWEEP_PAGE = 200;
export const INVITES_STORE = "invites";

export interface Invite {
  token: string;
  /** The inviter's bare JID, or "admin" (an operator's invite: no roster link). */
  inviter: string;
  /** Milliseconds since the epoch. */
  created: number;
  expires: number;
  /** Registrations it still allows. */
  usesLeft: number;
  /** XEP-0379: inviter and invitee subscribe to each other on registration. */
  roster: boolean;
  /** The only username it may register (XEP-0401 create-account with a name). */
  username?: string;
}

export interface NewInvite {
  inviter: string;
  ttlMs: number;
  uses: number;
  roster: boolean;
  username?: string;
}

/** Only what `create` makes is ever looked up (a peer's string is not a storage key otherwise). */
export function plausibleToken(token: string): boolean {
  return /^[A-Za-z0-9_-]{16,64}$/.test(token);
}

const usable = (invite: Invite, now: number) => invite.expires > now && invite.usesLeft > 0;

export class InviteStore {
  /** Uses are read-modify-write: one at a time per token in this process. */
  readonly #queue = new KeyedQueue();
  #indexed = false;
  #sweeping?: Promise<number>;

  constructor(readonly map: MapStore) {}

  /**
   * `create`, unless `opts.inviter` already has `max` usable invites
   * (undefined then). Counting reads the inviter's indexed invites only
   * and deletes the expired and used-up ones among them; one at a time
   * per inviter.
   */
  createBounded(opts: NewInvite, max: number, now = Date.now()): Promise<Invite | undefined> {
    if (max === Infinity) return this.create(opts, now);
    return this.#queue.run("inviter " + opts.inviter, async () => {
      if (!(await this.#isIndexed())) await this.sweep(now);
      let mine = 0;
      for (const token of (await this.map.getAll(BY_INVITER + opts.inviter)).keys()) {
        if (await this.#queue.run(token, () => this.#counts(token, opts.inviter, now))) mine++;
      }
      return mine < max ? await this.create(opts, now) : undefined;
    });
  }

  /** Whether an indexed token is a usable invite of `inviter`; if not, it leaves the index (and storage). */
  async #counts(token: string, inviter: string, now: number): Promise<boolean> {
    const invite = await this.map.get(OWNER, token) as Invite | undefined;
    if (invite?.inviter !== inviter) {
      await this.map.set(BY_INVITER + inviter, token, undefined);
      return false;
    }
    if (usable(invite, now)) return true;
    await this.#remove(invite);
    return false;
  }

  async create(opts: NewInvite, now = Date.now()): Promise<Invite> {
    const invite: Invite = {
      token: randomId(22), // 132 random bits
      inviter: opts.inviter,
      created: now,
      expires: now + opts.ttlMs,
      usesLeft: opts.uses,
      roster: opts.roster,
      ...(opts.username ? { username: opts.username } : {}),
    };
    await this.#put(invite);
    return invite;
  }

  /** The invite when it may still be used; expired or used-up ones are deleted on sight. */
  async valid(token: string, now = Date.now()): Promise<Invite | undefined> {
    if (!plausibleToken(token)) return undefined;
    const invite = await this.map.get(OWNER, token) as Invite | undefined;
    if (!invite) return undefined;
    if (!usable(invite, now)) {
      await this.#remove(invite);
      return undefined;
    }
    return invite;
  }

  /**
   * Take one use (before the account is created, so two registrations
   * racing for the last use cannot both pass); false when none is left.
   */
  take(token: string, now = Date.now()): Promise<Invite | undefined> {
    return this.#queue.run(token, () => this.#take(token, now));
  }

  async #take(token: string, now: number): Promise<Invite | undefined> {
    const invite = await this.valid(token, now);
    if (!invite) return undefined;
    const left = invite.usesLeft - 1;
    if (left > 0) {
      await this.map.set(OWNER, token, { ...invite, usesLeft: left } as unknown as Json);
    } else await this.#remove(invite);
    return invite;
  }

  /** Give back a use taken for a registration that then failed. */
  giveBack(invite: Invite): Promise<void> {
    return this.#queue.run(invite.token, () => this.#giveBack(invite));
  }

  async #giveBack(invite: Invite): Promise<void> {
    const current = await this.map.get(OWNER, invite.token) as Invite | undefined;
    const usesLeft = (current?.usesLeft ?? 0) + 1;
    await this.#put({ ...invite, usesLeft });
  }

  /**
   * Every invite of `inviter` goes (its account was deleted): a user's
   * invite asks the invitee to trust that account, and a later account of
   * the same name must not inherit it. Read through the inviter's index.
   */
  async removeByInviter(inviter: string): Promise<number> {
    if (!(await this.#isIndexed())) await this.sweep();
    let removed = 0;
    for (const token of (await this.map.getAll(BY_INVITER + inviter)).keys()) {
      await this.#queue.run(token, async () => {
        const invite = await this.map.get(OWNER, token) as Invite | undefined;
        if (invite?.inviter === inviter) {
          await this.#remove(invite);
          removed++;
        } else await this.map.set(BY_INVITER + inviter, token, undefined);
      });
    }
    return removed;
  }

  async list(): Promise<Invite[]> {
    return [...(await this.map.getAll(OWNER) as unknown as Map<string, Invite>).values()];
  }

  /**
   * Delete every expired or used-up invite, reading the records a page at
   * a time (the server runs it now and then); how many went. Over data
   * from before the index, the same walk builds it. A sweep asked for
   * while one runs is that one.
   */
  sweep(now = Date.now()): Promise<number> {
    this.#sweeping ??= this.#sweep(now).finally(() => this.#sweeping = undefined);
    return this.#sweeping;
  }

  async #sweep(now: number): Promise<number> {
    const building = !(await this.#isIndexed());
    let removed = 0;
    await this.#walk(async (invite) => {
      if (!usable(invite, now)) {
        await this.#remove(invite);
        removed++;
      } else if (building) {
        await this.map.set(BY_INVITER + invite.inviter, invite.token, invite.expires);
      }
    });
    if (building) {
      await this.map.set(META, INDEXED, true);
      this.#indexed = true;
    }
    return removed;
  }

  /** Whether every stored invite has its index entry (remembered once true). */
  async #isIndexed(): Promise<boolean> {
    this.#indexed ||= await this.map.get(META, INDEXED) !== undefined;
    return this.#indexed;
  }

  /** Index entry first, then the record: a crash between leaves a stale entry, never a lost one. */
  async #put(invite: Invite): Promise<void> {
    await this.map.set(BY_INVITER + invite.inviter, invite.token, invite.expires);
    await this.map.set(OWNER, invite.token, invite as unknown as Json);
  }

  async #remove(invite: Invite): Promise<void> {
    await this.map.set(OWNER, invite.token, undefined);
    await this.map.set(BY_INVITER + invite.inviter, invite.token, undefined);
  }

  /**
   * Every record, SWEEP_PAGE at a time in key order, with a turn of the
   * event loop between pages (SQLite answers synchronously).
   */
  async #walk(each: (invite: Invite) => Promise<void>): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const entries = await this.map.getPage(OWNER, after, SWEEP_PAGE);
      for (const [, value] of entries) await each(value as unknown as Invite);
      if (entries.length < SWEEP_PAGE) return;
      after = entries[entries.length - 1][0];
      await nextTurn();
    }
  }
}

/** "7d", "12h", "30m", "45s" or plain seconds, in milliseconds; undefined when unreadable. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhdw]?)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2]]!;
  const ms = Number(m[1]) * unit * 1000;
  return ms > 0 ? ms : undefined;
}
