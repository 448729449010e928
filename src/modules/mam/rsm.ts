/**
 * Result Set Management (XEP-0059) as MAM uses it: the request's `max`,
 * `after`, `before` (empty: the last page) and `index`, and the answer's
 * `first` (with its index), `last` and `count`.
 */
import { el, type Element } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import { checkId } from "./query_form.ts";
import { NS_RSM } from "./ns.ts";

export interface RsmRequest {
  max?: number;
  after?: string;
  /** "" asks for the last page. */
  before?: string;
  index?: number;
}

const bad = (text: string) => new StanzaError("modify", "bad-request", text);

/** A non-negative integer as RSM writes it (bounded: no 400-digit numbers). */
function count(text: string, what: string): number {
  const t = text.trim();
  if (!/^\d{1,9}$/.test(t)) throw bad(`Invalid ${what}`);
  return Number(t);
}

/** The request in a query's `<set/>` (none: all defaults). Throws a StanzaError. */
export function parseRsm(query: Element): RsmRequest {
  const set = query.getChild("set", NS_RSM);
  const out: RsmRequest = {};
  if (!set) return out;
  const seen = new Set<string>();
  for (const c of set.getChildren()) {
    if (c.attrs.xmlns !== undefined) continue;
    // Two of one kind: which did the client mean? (Not one of them at random.)
    if (seen.has(c.name)) throw bad(`<${c.name}/> given twice`);
    seen.add(c.name);
    switch (c.name) {
      case "max":
        out.max = count(c.text(), "max");
        break;
      case "index":
        out.index = count(c.text(), "index");
        break;
      case "after":
        out.after = checkId(c.text(), "after");
        break;
      case "before": {
        const t = c.text();
        out.before = t === "" ? "" : checkId(t, "before");
        break;
      }
    }
  }
  // XEP-0059 defines neither together (XEP-0313 §4.3.2: use before-id and after-id).
  if (out.after !== undefined && out.before !== undefined) throw bad("Both after and before");
  if (out.index !== undefined && (out.after !== undefined || out.before !== undefined)) {
    throw bad("index with after or before");
  }
  return out;
}

export interface RsmResult {
  first?: { id: string; index?: number };
  last?: string;
  count?: number;
}

export function rsmElement(r: RsmResult): Element {
  return el(
    "set",
    { xmlns: NS_RSM },
    r.first &&
      el(
        "first",
        { index: r.first.index === undefined ? undefined : String(r.first.index) },
        r.first.id,
      ),
    r.last !== undefined && el("last", {}, r.last),
    r.count !== undefined && el("count", {}, String(r.count)),
  );
}
