/**
 * One room's state: its config, affiliations (with reserved nicks),
 * occupants by nick and by real full JID, and its subject. Pure state:
 * what is sent lives in the handlers; what is stored, in room_store.ts.
 */
import type { Element } from "../../xml/element.ts";
import type { Affiliation, Role, RoomConfig } from "./types.ts";
import { prepNick } from "./nick.ts";

export interface AffiliationEntry {
  affiliation: Affiliation;
  /** Reserved nick (registration, XEP-0045 §7.10). */
  nick?: string;
  reason?: string;
}

/** One nick in the room; a user's several sessions may share it. */
export class Occupant {
  /** Real full JID → its last presence (as sent to the room). */
  readonly sessions = new Map<string, Element>();
  /** Token bucket of the message rate limit. */
  tokens: number;
  /** XEP-0421 id, computed once. */
  occupantId?: string;
  refilled = Date.now();

  constructor(
    public nick: string,
    readonly bareJid: string,
    public role: Role,
    burst: number,
  ) {
    this.tokens = burst;
  }

  /** The latest session's full JID (what moderators see). */
  get realJid(): string | undefined {
    let last: string | undefined;
    for (const jid of this.sessions.keys()) last = jid;
    return last;
  }

  /** The presence the room shows for this occupant: the latest of its sessions. */
  get presence(): Element | undefined {
    let last: Element | undefined;
    for (const p of this.sessions.values()) last = p;
    return last;
  }
}

export interface Subject {
  text: string;
  /** Occupant nick that set it ("" for the room). */
  by: string;
  /** That occupant's XEP-0421 id, sent with the subject on every join. */
  occupantId?: string;
}

export class Room {
  readonly occupants = new Map<string, Occupant>();
  /** Real full JID → occupant. */
  readonly byRealJid = new Map<string, Occupant>();
  readonly affiliations = new Map<string, AffiliationEntry>();
  subject: Subject = { text: "", by: "" };
  /**
   * Mediated invitations not yet declined, `invitee bare JID \0 inviter bare
   * JID`, oldest first (bounded by the handler): a decline is passed on only
   * to someone who invited its sender, so the room relays nothing else.
   */
  readonly invitations = new Set<string>();
  /**
   * The rate budget of users who left, by bare JID, oldest first (bounded
   * by the service): rejoining starts from it, so leaving and joining in a
   * loop (a presence to every occupant each time) is held to the rate.
   */
  readonly departed = new Map<string, { tokens: number; refilled: number }>();
  /** Messages archived since the archive was last cut to `muc.maxArchivedPerRoom`. */
  appendedSinceTrim = 0;
  /** Created and awaiting its owner's configuration (XEP-0045 §10.1.2: 201). */
  locked = false;
  destroyed = false;

  constructor(
    /** Room localpart. */
    readonly name: string,
    /** Bare room JID. */
    readonly jid: string,
    public config: RoomConfig,
  ) {}

  /**
   * A user's own affiliation; without one, a ban of the user's whole domain
   * (an `outcast` entry for the domain JID) counts: XEP-0045 §9.2 matches
   * bans by bare JID, then by domain, as Prosody does.
   */
  affiliation(bareJid: string): Affiliation {
    const own = this.affiliations.get(bareJid)?.affiliation;
    if (own !== undefined) return own;
    const at = bareJid.indexOf("@");
    if (at < 0) return "none";
    return this.affiliations.get(bareJid.slice(at + 1))?.affiliation === "outcast"
      ? "outcast"
      : "none";
  }

  /** The occupant a nick from a stanza names, once prepared (nick.ts). */
  occupantByNick(raw: string | undefined): Occupant | undefined {
    const nick = raw === undefined ? undefined : prepNick(raw);
    return nick === undefined ? undefined : this.occupants.get(nick);
  }

  /** Reserved nick of a user, if registered. */
  reservedNick(bareJid: string): string | undefined {
    return this.affiliations.get(bareJid)?.nick;
  }

  /** The user who reserved `nick`, if any. */
  nickOwner(nick: string): string | undefined {
    for (const [jid, entry] of this.affiliations) if (entry.nick === nick) return jid;
    return undefined;
  }

  setAffiliation(bareJid: string, affiliation: Affiliation, reason?: string): void {
    const entry = this.affiliations.get(bareJid);
    if (affiliation === "none") {
      // A reserved nick goes with membership (XEP-0045 §7.10).
      this.affiliations.delete(bareJid);
      return;
    }
    // §9.1: a ban SHOULD free the outcast's reserved nick (else it stays blocked for good).
    const nick = affiliation === "outcast" ? undefined : entry?.nick;
    this.affiliations.set(bareJid, { affiliation, nick, reason });
  }

  /** The default role for an affiliation in this room (XEP-0045 §5.1.2). */
  roleFor(affiliation: Affiliation): Role {
    if (affiliation === "owner" || affiliation === "admin") return "moderator";
    if (affiliation === "outcast") return "none";
    if (this.config.moderated && affiliation === "none") return "visitor";
    if (this.config.membersOnly && affiliation === "none") return "none";
    return "participant";
  }

  owners(): string[] {
    const out: string[] = [];
    for (const [jid, e] of this.affiliations) if (e.affiliation === "owner") out.push(jid);
    return out;
  }

  occupantJid(nick: string): string {
    return this.jid + "/" + nick;
  }

  /** Every real full JID in the room. */
  *recipients(): Iterable<[string, Occupant]> {
    for (const o of this.occupants.values()) {
      for (const jid of o.sessions.keys()) yield [jid, o];
    }
  }

  get empty(): boolean {
    return this.occupants.size === 0;
  }
}
