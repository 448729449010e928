/**
 * Archiving preferences (XEP-0441, the `<prefs/>` of `urn:xmpp:mam:2`):
 * a default (`always`, `never`, `roster`: only contacts in the roster)
 * and JIDs always or never archived. `never` wins over `always` when a
 * JID is in both (the user's privacy choice is the safe one). A message
 * matches a listed JID by the other party's bare JID or full JID.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import type { Json } from "../../storage/types.ts";
import { NS_MAM } from "./ns.ts";

export type DefaultPref = "always" | "never" | "roster";

/** JIDs one list may hold: prefs are stored whole and read on every message. */
export const MAX_PREF_JIDS = 1000;

const DEFAULTS: ReadonlySet<string> = new Set(["always", "never", "roster"]);

export class Prefs {
  constructor(
    readonly defaultPref: DefaultPref,
    readonly always: ReadonlySet<string> = new Set(),
    readonly never: ReadonlySet<string> = new Set(),
  ) {}

  /** Archive a message with `bare` (`full` when the other party had a resource)? */
  decide(bare: string, full: string): "yes" | "no" | "roster" {
    if (this.never.has(bare) || this.never.has(full)) return "no";
    if (this.always.has(bare) || this.always.has(full)) return "yes";
    return this.defaultPref === "always" ? "yes" : this.defaultPref === "never" ? "no" : "roster";
  }

  toJson(): Json {
    return { default: this.defaultPref, always: [...this.always], never: [...this.never] };
  }

  /** What storage holds; `fallback` is the configured default when nothing (valid) is stored. */
  static fromJson(value: Json | undefined, fallback: DefaultPref): Prefs {
    if (!value || typeof value !== "object" || Array.isArray(value)) return new Prefs(fallback);
    const d = value.default;
    const list = (v: Json | undefined) =>
      new Set(Array.isArray(v) ? v.filter((j): j is string => typeof j === "string") : []);
    return new Prefs(
      typeof d === "string" && DEFAULTS.has(d) ? d as DefaultPref : fallback,
      list(value.always),
      list(value.never),
    );
  }

  toElement(): Element {
    const jids = (set: ReadonlySet<string>) => [...set].map((j) => el("jid", {}, j));
    return el(
      "prefs",
      { xmlns: NS_MAM, default: this.defaultPref },
      el("always", {}, ...jids(this.always)),
      el("never", {}, ...jids(this.never)),
    );
  }

  /** Parse a `<prefs/>` set request; throws a StanzaError for a bad one. */
  static parse(prefs: Element): Prefs {
    const d = prefs.attrs.default;
    if (d === undefined || !DEFAULTS.has(d)) {
      throw new StanzaError("modify", "bad-request", "default must be always, never or roster");
    }
    const list = (name: string): Set<string> => {
      const out = new Set<string>();
      const holder = prefs.getChild(name);
      if (!holder) return out;
      for (const j of holder.getChildren("jid")) {
        const jid = parseJid(j.text().trim());
        if (!jid) throw new StanzaError("modify", "jid-malformed", `Invalid JID in <${name}/>`);
        out.add(jid.full);
        if (out.size > MAX_PREF_JIDS) {
          throw new StanzaError("modify", "policy-violation", `At most ${MAX_PREF_JIDS} JIDs`);
        }
      }
      return out;
    };
    return new Prefs(d as DefaultPref, list("always"), list("never"));
  }
}
