/** Roles, affiliations and the room configuration of XEP-0045 §5 and §10. */

export type Role = "moderator" | "participant" | "visitor" | "none";
export type Affiliation = "owner" | "admin" | "member" | "outcast" | "none";

export const ROLES: readonly Role[] = ["moderator", "participant", "visitor", "none"];
export const AFFILIATIONS: readonly Affiliation[] = ["owner", "admin", "member", "outcast", "none"];

/** Higher ranks may act on lower ones (XEP-0045 §5.2: outcast is below none). */
export const AFFILIATION_RANK: Record<Affiliation, number> = {
  owner: 4,
  admin: 3,
  member: 2,
  none: 1,
  outcast: 0,
};

export type Whois = "moderators" | "anyone" | "none";

/** Who may send private messages to occupants (muc#roomconfig_allowpm). */
export type PmPolicy = "anyone" | "participants" | "moderators" | "none";

export interface RoomConfig {
  name: string;
  description: string;
  language: string;
  persistent: boolean;
  /** Listed in the service's disco#items (not hidden). */
  public: boolean;
  membersOnly: boolean;
  moderated: boolean;
  /** Empty: no password. */
  password: string;
  /**
   * Who sees occupants' real JIDs: "moderators" (semi-anonymous), "anyone"
   * (non-anonymous) or "none" (fully anonymous: admins still see them in the
   * affiliation lists).
   */
  whois: Whois;
  changeSubject: boolean;
  allowInvites: boolean;
  allowPm: PmPolicy;
  maxUsers: number;
  /** Messages kept in the archive and served as history and over MAM. */
  archiving: boolean;
  /** Most messages sent as history on join when the client does not ask. */
  historyLength: number;
}

export function defaultRoomConfig(maxUsers: number, historyLength: number): RoomConfig {
  return {
    name: "",
    description: "",
    language: "",
    persistent: false,
    public: true,
    membersOnly: false,
    moderated: false,
    password: "",
    whois: "moderators",
    changeSubject: false,
    allowInvites: false,
    allowPm: "anyone",
    maxUsers,
    archiving: true,
    historyLength,
  };
}

/** The service-wide settings rooms live under (config `muc.*`). */
export interface MucLimits {
  create: "local" | "admins" | "anyone";
  maxRooms: number;
  maxRoomsPerUser: number;
  maxOccupants: number;
  maxSessionsPerOccupant: number;
  maxHistoryMessages: number;
  defaultHistoryMessages: number;
  maxNickLength: number;
  enforceReservedNicks: boolean;
  maxAffiliations: number;
  maxArchivedPerRoom: number;
  messagesPerSecond: number;
  messageBurst: number;
}
