/**
 * The `muc#roomconfig` form (XEP-0045 §10.2, XEP-0004): the owner gets
 * it filled with the room's settings and submits changes. Unknown fields
 * are ignored (clients send what other servers offer); known fields with
 * bad values are `not-acceptable`. Text is bounded.
 */
import type { Element } from "../../xml/element.ts";
import { form, formValue, type FormValues } from "../../util/dataforms.ts";
import { StanzaError } from "../../core/errors.ts";
import { NS_MUC_ROOMCONFIG, NS_MUC_ROOMINFO } from "./ns.ts";
import type { PmPolicy, RoomConfig } from "./types.ts";

const F = "muc#roomconfig_";
const MAX_TEXT = 1024;
const bool = (b: boolean) => (b ? "1" : "0");

export function configForm(config: RoomConfig, maxOccupants: number, maxHistory: number): Element {
  return form("form", [
    { var: F + "roomname", type: "text-single", label: "Name", values: [config.name] },
    {
      var: F + "roomdesc",
      type: "text-single",
      label: "Description",
      values: [config.description],
    },
    { var: F + "lang", type: "text-single", label: "Language", values: [config.language] },
    {
      var: F + "persistentroom",
      type: "boolean",
      label: "Persistent",
      values: [bool(config.persistent)],
    },
    { var: F + "publicroom", type: "boolean", label: "Listed", values: [bool(config.public)] },
    {
      var: F + "membersonly",
      type: "boolean",
      label: "Members only",
      values: [bool(config.membersOnly)],
    },
    {
      var: F + "moderatedroom",
      type: "boolean",
      label: "Moderated",
      values: [bool(config.moderated)],
    },
    {
      var: F + "passwordprotectedroom",
      type: "boolean",
      label: "Password protected",
      values: [bool(config.password !== "")],
    },
    { var: F + "roomsecret", type: "text-private", label: "Password", values: [config.password] },
    {
      var: F + "whois",
      type: "list-single",
      label: "Who may see real JIDs",
      values: [config.whois],
      options: [{ value: "moderators" }, { value: "anyone" }, { value: "none" }],
    },
    {
      var: F + "changesubject",
      type: "boolean",
      label: "Occupants may change the subject",
      values: [bool(config.changeSubject)],
    },
    {
      var: F + "allowinvites",
      type: "boolean",
      label: "Occupants may invite",
      values: [bool(config.allowInvites)],
    },
    {
      var: F + "allowpm",
      type: "list-single",
      label: "Who may send private messages",
      values: [config.allowPm],
      options: [{ value: "anyone" }, { value: "participants" }, { value: "moderators" }, {
        value: "none",
      }],
    },
    {
      var: F + "maxusers",
      type: "text-single",
      label: `Most occupants (at most ${maxOccupants})`,
      values: [String(config.maxUsers)],
    },
    {
      var: F + "enablearchiving",
      type: "boolean",
      label: "Archive messages",
      values: [bool(config.archiving)],
    },
    {
      var: "muc#roomconfig_historylength",
      type: "text-single",
      label: `History on join (at most ${maxHistory})`,
      values: [String(config.historyLength)],
    },
  ], { formType: NS_MUC_ROOMCONFIG, title: "Room configuration" });
}

const bad = (text: string) => new StanzaError("modify", "not-acceptable", text);

function text(values: FormValues, name: string): string | undefined {
  const v = formValue(values, F + name);
  if (v !== undefined && v.length > MAX_TEXT) throw bad(`${name} too long`);
  return v;
}

/**
 * A boolean field: XEP-0004 allows "0", "1", "false", "true". Anything else
 * is refused: read as false, a "yes" for members-only would open the room.
 */
function flag(values: FormValues, name: string): boolean | undefined {
  const v = formValue(values, F + name);
  if (v === undefined) return undefined;
  const t = v.trim();
  if (t === "1" || t === "true") return true;
  if (t === "0" || t === "false") return false;
  throw bad(`${name}: a boolean`);
}

function count(values: FormValues, name: string, max: number): number | undefined {
  const v = formValue(values, name);
  if (v === undefined || v.trim() === "") return undefined;
  if (!/^\d{1,9}$/.test(v.trim())) throw bad(`${name}: a number`);
  return Math.min(Number(v.trim()), max);
}

/** The room's new config from a submitted form; the old one where a field is missing. */
export function applyConfigForm(
  old: RoomConfig,
  values: FormValues,
  maxOccupants: number,
  maxHistory: number,
): RoomConfig {
  const c = { ...old };
  c.name = text(values, "roomname") ?? c.name;
  c.description = text(values, "roomdesc") ?? c.description;
  c.language = text(values, "lang") ?? c.language;
  c.persistent = flag(values, "persistentroom") ?? c.persistent;
  c.public = flag(values, "publicroom") ?? c.public;
  c.membersOnly = flag(values, "membersonly") ?? c.membersOnly;
  c.moderated = flag(values, "moderatedroom") ?? c.moderated;
  const secret = text(values, "roomsecret");
  const protectedRoom = flag(values, "passwordprotectedroom");
  if (secret !== undefined) c.password = secret;
  if (protectedRoom === false) c.password = "";
  if (protectedRoom === true && c.password === "") {
    throw bad("A password-protected room needs a password");
  }
  const whois = formValue(values, F + "whois");
  if (whois !== undefined) {
    if (whois !== "moderators" && whois !== "anyone" && whois !== "none") {
      throw bad("whois: moderators, anyone or none");
    }
    c.whois = whois;
  }
  c.changeSubject = flag(values, "changesubject") ?? c.changeSubject;
  c.allowInvites = flag(values, "allowinvites") ?? c.allowInvites;
  const pm = formValue(values, F + "allowpm");
  if (pm !== undefined) {
    if (!["anyone", "participants", "moderators", "none"].includes(pm)) throw bad("allowpm");
    c.allowPm = pm as PmPolicy;
  }
  const maxUsers = count(values, F + "maxusers", maxOccupants);
  if (maxUsers !== undefined) c.maxUsers = Math.max(1, maxUsers);
  // enablelogging is XEP-0045's own name for it, enablearchiving Prosody's (which Conversations
  // sends): either is taken, the one that changes something first.
  for (const name of ["enablearchiving", "enablelogging"]) {
    const v = flag(values, name);
    if (v !== undefined && v !== old.archiving) c.archiving = v;
  }
  c.historyLength = count(values, F + "historylength", maxHistory) ?? c.historyLength;
  return c;
}

/** The `muc#roominfo` form of the room's disco#info (XEP-0045 §15.5.4). */
export function roomInfoForm(config: RoomConfig, occupants: number, subject: string): Element {
  return form("result", [
    { var: "muc#roominfo_description", values: [config.description] },
    { var: "muc#roominfo_occupants", values: [String(occupants)] },
    { var: "muc#roominfo_subject", values: [subject] },
    { var: "muc#roominfo_lang", values: [config.language] },
    { var: "muc#roomconfig_roomname", values: [config.name] },
    { var: "muc#maxhistoryfetch", values: [String(config.historyLength)] },
    { var: "muc#roomconfig_allowinvites", values: [bool(config.allowInvites)] },
    { var: "muc#roomconfig_changesubject", values: [bool(config.changeSubject)] },
    // The name older Conversations and Gajim read (from an example of the XEP; Prosody's too).
    { var: "muc#roominfo_changesubject", values: [bool(config.changeSubject)] },
    // Conversations offers private messages only when this allows them.
    { var: "muc#roomconfig_allowpm", values: [config.allowPm] },
    { var: "muc#roomconfig_whois", values: [config.whois] },
  ], { formType: NS_MUC_ROOMINFO });
}

/** disco#info features of a room (XEP-0045 §6.4, §17.3). */
export function roomFeatures(config: RoomConfig): string[] {
  return [
    config.persistent ? "muc_persistent" : "muc_temporary",
    config.public ? "muc_public" : "muc_hidden",
    config.membersOnly ? "muc_membersonly" : "muc_open",
    config.moderated ? "muc_moderated" : "muc_unmoderated",
    config.password !== "" ? "muc_passwordprotected" : "muc_unsecured",
    config.whois === "anyone"
      ? "muc_nonanonymous"
      : config.whois === "none"
      ? "muc_fullyanonymous"
      : "muc_semianonymous",
  ];
}
