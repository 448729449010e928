/**
 * Invitations (XEP-0401) in the host's map store `invites`, one key per
 * token under a fixed owner key, so the CLI (storage opened directly, as
 * adduser does) and the running module read and write the same records.
 * Tokens are 132 random bits, URL-safe: unguessable, and safe in URIs.
 */
import type { Json, MapStore } from "../../storage/types.ts";
import { KeyedQueue } from "../../util/keyed_queue.ts";
import { randomId } from "../../util/random.ts";

/** Every invite is kept under this "user" of the map store. */
const OWNER = "";
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

export class InviteStore {
  /** Uses are read-modify-write: one at a time per token in this process. */
  readonly #queue = new KeyedQueue();

  constructor(readonly map: MapStore) {}

  /**
   * `create`, unless `opts.inviter` already has `max` usable invites
   * (undefined then). Counting reads every invite and deletes the expired
   * and used-up ones it meets; one at a time per inviter.
   */
  createBounded(opts: NewInvite, max: number, now = Date.now()): Promise<Invite | undefined> {
    return this.#queue.run("inviter " + opts.inviter, async () => {
      let mine = 0;
      for (const invite of (await this.getAll()).values()) {
        if (invite.expires <= now || invite.usesLeft <= 0) {
          await this.map.set(OWNER, invite.token, undefined);
        } else if (invite.inviter === opts.inviter) mine++;
      }
      return mine < max ? await this.create(opts, now) : undefined;
    });
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
    await this.map.set(OWNER, invite.token, invite as unknown as Json);
    return invite;
  }

  /** The invite when it may still be used; expired or used-up ones are deleted on sight. */
  async valid(token: string, now = Date.now()): Promise<Invite | undefined> {
    if (!plausibleToken(token)) return undefined;
    const invite = await this.map.get(OWNER, token) as Invite | undefined;
    if (!invite) return undefined;
    if (invite.expires <= now || invite.usesLeft <= 0) {
      await this.map.set(OWNER, token, undefined);
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
    await this.map.set(
      OWNER,
      token,
      left > 0 ? { ...invite, usesLeft: left } as unknown as Json : undefined,
    );
    return invite;
  }

  /** Give back a use taken for a registration that then failed. */
  giveBack(invite: Invite): Promise<void> {
    return this.#queue.run(invite.token, () => this.#giveBack(invite));
  }

  async #giveBack(invite: Invite): Promise<void> {
    const current = await this.map.get(OWNER, invite.token) as Invite | undefined;
    const usesLeft = (current?.usesLeft ?? 0) + 1;
    await this.map.set(OWNER, invite.token, { ...invite, usesLeft } as unknown as Json);
  }

  async list(): Promise<Invite[]> {
    return [...(await this.getAll()).values()];
  }

  private async getAll(): Promise<Map<string, Invite>> {
    return await this.map.getAll(OWNER) as unknown as Map<string, Invite>;
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
