/**
 * The credentials of a `jabber:iq:register` query (XEP-0077), whether sent
 * as the legacy `<username/>`/`<password/>` elements or as a data form
 * (§4: the form takes precedence), and their validation.
 */
import { el, type Element } from "../../xml/element.ts";
import { prepLocal } from "../../jid.ts";
import { saslPrep } from "../../auth/scram.ts";
import { isIdentifierClass } from "../../auth/identifier_class.ts";
import { StanzaError } from "../../core/errors.ts";
import { form, formValue, parseForm } from "../../util/dataforms.ts";
import { NS_REGISTER } from "../../xml/namespaces.ts";
export { NS_REGISTER };

export const NS_REGISTER_FEATURE = "http://jabber.org/features/iq-register";

export interface Submitted {
  username: string | undefined;
  password: string | undefined;
}

export function submittedFields(query: Element): Submitted {
  const values = parseForm(query);
  if (values) {
    return { username: formValue(values, "username"), password: formValue(values, "password") };
  }
  return { username: query.getChildText("username"), password: query.getChildText("password") };
}

/**
 * A localpart a new account may take: a bad JID localpart is
 * jid-malformed; a missing one is missing information (not-acceptable,
 * XEP-0077 §3.1).
 */
export function checkUsername(raw: string | undefined): string | StanzaError {
  const trimmed = raw?.trim();
  if (!trimmed) return new StanzaError("modify", "not-acceptable", "A username is required");
  const local = prepLocal(trimmed);
  if (local === undefined || !isIdentifierClass(local)) {
    return new StanzaError("modify", "jid-malformed", "That username is not a valid JID localpart");
  }
  return local;
}

/**
 * XEP-0077 §3.1/§3.3: an empty password is missing information and must
 * never replace a stored one; a password SASLprep refuses could never be
 * used to log in.
 */
export function checkPassword(raw: string | undefined): string | StanzaError {
  if (raw === undefined || raw === "") {
    return new StanzaError("modify", "not-acceptable", "A password is required");
  }
  if (saslPrep(raw, false) === undefined) {
    return new StanzaError("modify", "not-acceptable", "The password holds prohibited characters");
  }
  return raw;
}

/** The fields a new account needs, as legacy elements and as a form. */
export function registrationFields(): Element {
  return el(
    "query",
    { xmlns: NS_REGISTER },
    el("instructions", {}, "Choose a username and password for your new account."),
    el("username"),
    el("password"),
    form("form", [
      { var: "username", type: "text-single", label: "Username", required: true },
      { var: "password", type: "text-private", label: "Password", required: true },
    ], {
      title: "Account registration",
      instructions: "Choose a username and password for your new account.",
      formType: NS_REGISTER,
    }),
  );
}
