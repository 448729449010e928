/**
 * The query form of XEP-0313 §4.1: `with`, `start`, `end` and the
 * `#extended` fields `before-id`, `after-id` and `ids`. Parsed into a
 * filter, bounded (hostile clients): a handful of fields, one value each
 * but `ids`, at most `maxIds` ids, ids and JIDs of bounded length. An
 * unknown field is `feature-not-implemented` (§4.1.5), anything malformed
 * `bad-request`.
 */
import { el, type Element } from "../../xml/element.ts";
import { parseJid } from "../../jid.ts";
import { StanzaError } from "../../core/errors.ts";
import { NS_DATA } from "../../util/dataforms.ts";
import { NS_MAM } from "./ns.ts";

/** Longest archive id a client may name (ours are 16 characters). */
export const MAX_ID_LENGTH = 256;
/** Fields one form may carry: the seven defined here and a few spare. */
const MAX_FIELDS = 16;

export interface MamFilter {
  /** Bare JID of the other party. */
  with?: string;
  /** Inclusive, ms since the epoch. */
  start?: number;
  end?: number;
  afterId?: string;
  beforeId?: string;
  ids?: string[];
}

const bad = (text: string) => new StanzaError("modify", "bad-request", text);

/** XEP-0082 DateTime: date, time, optional fraction, Z or an offset. */
const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;

export function parseDateTime(s: string): number | undefined {
  const m = DATETIME.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  // Date.parse rolls a day past the month's end over (30 February is
  // 2 March); a date that does not exist is malformed, not another date.
  // (setUTCFullYear: Date.UTC would read years below 100 as 19xx.)
  const lastOfMonth = new Date(0);
  lastOfMonth.setUTCFullYear(year, month, 0);
  const daysInMonth = lastOfMonth.getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  // Date.parse keeps milliseconds; finer fractions are cut (the archive counts ms).
  const ms = Date.parse(s.replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(ms) ? ms : undefined;
}

/** An archive id a client names: non-empty, bounded. */
export function checkId(id: string, what: string): string {
  if (id.length === 0 || id.length > MAX_ID_LENGTH) throw bad(`Invalid ${what}`);
  return id;
}

/** The filter of a query's form (none: everything). Throws a StanzaError. */
export function parseQueryForm(query: Element, maxIds: number): MamFilter {
  const x = query.getChild("x", NS_DATA);
  const filter: MamFilter = {};
  if (!x) return filter;
  const fields = x.getChildren("field");
  if (fields.length > MAX_FIELDS) throw bad("Too many fields");
  const seen = new Set<string>();
  for (const field of fields) {
    const name = field.attrs.var;
    if (name === undefined) continue;
    if (seen.has(name)) throw bad(`Field ${name} given twice`);
    seen.add(name);
    const values = field.getChildren("value");
    if (name === "ids") {
      if (values.length > maxIds) throw bad(`At most ${maxIds} ids`);
      filter.ids = [...new Set(values.map((v) => checkId(v.text(), "id")))];
      continue;
    }
    if (values.length > 1) throw bad(`Field ${name} takes one value`);
    const value = values[0]?.text().trim();
    switch (name) {
      case "FORM_TYPE":
        if (value !== NS_MAM) throw bad("FORM_TYPE must be " + NS_MAM);
        break;
      case "with": {
        if (!value) break;
        // Stored by bare JID: a full JID matches its bare JID's messages.
        const jid = parseJid(value);
        if (!jid) throw bad("Invalid JID in with");
        filter.with = jid.bare;
        break;
      }
      case "start":
      case "end": {
        if (!value) break;
        const ms = parseDateTime(value);
        if (ms === undefined) throw bad(`Invalid ${name} timestamp`);
        filter[name] = ms;
        break;
      }
      case "after-id":
        if (value) filter.afterId = checkId(value, name);
        break;
      case "before-id":
        if (value) filter.beforeId = checkId(value, name);
        break;
      default:
        throw new StanzaError("cancel", "feature-not-implemented", `Unknown field ${name}`);
    }
  }
  return filter;
}

/** The form a `get` of the query returns (§4.1.5). */
export function queryFormElement(): Element {
  const field = (v: string, type: string) => el("field", { var: v, type });
  return el(
    "query",
    { xmlns: NS_MAM },
    el(
      "x",
      { xmlns: NS_DATA, type: "form" },
      el("field", { var: "FORM_TYPE", type: "hidden" }, el("value", {}, NS_MAM)),
      field("with", "jid-single"),
      field("start", "text-single"),
      field("end", "text-single"),
      field("before-id", "text-single"),
      field("after-id", "text-single"),
      el(
        "field",
        { var: "ids", type: "list-multi" },
        el(
          "validate",
          { xmlns: "http://jabber.org/protocol/xdata-validate", datatype: "xs:string" },
          el("open"),
        ),
      ),
    ),
  );
}
