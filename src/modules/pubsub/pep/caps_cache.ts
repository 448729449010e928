/**
 * What entity capabilities (XEP-0115) stand for: ver → features, learnt
 * by asking disco#info of an entity that announced a ver not seen yet.
 * Bounded: the cache drops its least recently used ver, and at most
 * `maxPending` queries are in flight (a flood of fresh vers costs at
 * most that many iqs; the rest get no features until presence again).
 *
 * Only the `+notify` features are kept (a bounded number), and the
 * whole cache is bounded in characters too.
 *
 * A sha-1 answer is verified (§5.4) before it is shared under the ver, so
 * one client cannot poison what another's ver means; an answer that does
 * not match (or another hash, or legacy caps) is kept for that JID only.
 */
import type { Element } from "../../../xml/element.ts";
import { NS, NS_CAPS } from "../../../xml/namespaces.ts";
export { NS_CAPS };
import { capsVer } from "../../caps.ts";

const NS_DATA = "jabber:x:data";

export type Features = ReadonlySet<string>;
const NONE: Features = new Set();

/** `+notify` features kept per answer, and their longest name: PEP needs no more. */
export const MAX_NOTIFY_FEATURES = 256;
const MAX_FEATURE_CHARS = 1024;

export interface CapsCacheOptions {
  maxEntries: number;
  maxPending: number;
  /**
   * Characters of feature names the cache may hold in all (default 8 Mi):
   * answers can be large, and fresh vers cost an attacker nothing.
   */
  maxChars?: number;
  /** disco#info of `node` at `jid`; resolves with the result iq. */
  query(jid: string, node: string): Promise<Element>;
}

export class CapsCache {
  readonly #entries = new Map<string, Features>();
  readonly #sizes = new Map<string, number>();
  #chars = 0;
  readonly #pending = new Map<string, Promise<Features>>();
  constructor(readonly options: CapsCacheOptions) {}

  get size(): number {
    return this.#entries.size;
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Characters of feature names held (for the maxChars bound). */
  get chars(): number {
    return this.#chars;
  }

  #forget(key: string): void {
    this.#chars -= this.#sizes.get(key) ?? 0;
    this.#sizes.delete(key);
    this.#entries.delete(key);
  }

  #remember(key: string, features: Features): void {
    this.#forget(key);
    let size = key.length;
    for (const f of features) size += f.length;
    this.#entries.set(key, features);
    this.#sizes.set(key, size);
    this.#chars += size;
    const maxChars = this.options.maxChars ?? 8 * 1024 * 1024;
    while (
      this.#entries.size > this.options.maxEntries ||
      (this.#chars > maxChars && this.#entries.size > 1)
    ) {
      this.#forget(this.#entries.keys().next().value!);
    }
  }

  /**
   * As `features`, but a query that another JID asked (the same ver, in
   * flight) counts only once its answer is verified and shared: when it
   * was not, `jid` is asked itself. So a client that lies about a ver
   * cannot pass its features to others announcing that ver meanwhile.
   */
  featuresOf(c: Element, jid: string): Features | Promise<Features> {
    const first = this.features(c, jid);
    if (!(first instanceof Promise)) return first;
    return first.then(() => this.features(c, jid));
  }

  /**
   * The features `c` (a `<c xmlns=caps/>`) announced by `jid` stands for:
   * at once when known, else a promise of the query's answer (empty
   * features when it fails or too many are pending).
   */
  features(c: Element, jid: string): Features | Promise<Features> {
    const node = c.attrs.node ?? "";
    const ver = c.attrs.ver ?? "";
    const hash = c.attrs.hash;
    if (ver === "" || ver.length > 256 || node.length > 1024) return NONE;
    const shared = hash === "sha-1" ? "sha-1/" + ver : undefined;
    const own = jid + "|" + node + "#" + ver;
    for (const key of [shared, own]) {
      if (key === undefined) continue;
      const hit = this.#entries.get(key);
      if (hit) {
        this.#remember(key, hit);
        return hit;
      }
    }
    const key = shared ?? own;
    const inFlight = this.#pending.get(key);
    if (inFlight) return inFlight;
    if (this.#pending.size >= this.options.maxPending) return NONE;
    const p = this.options.query(jid, node + "#" + ver).then((iq) => {
      const query = iq.getChild("query", NS.discoInfo);
      if (!query) return NONE;
      const features = new Set(query.getChildren("feature").map((f) => f.attrs.var ?? ""));
      const verified = shared !== undefined && verify(query, features) === ver;
      const notify = onlyNotify(features);
      this.#remember(verified ? shared! : own, notify);
      return notify;
    }, () => NONE).finally(() => this.#pending.delete(key));
    this.#pending.set(key, p);
    return p;
  }
}

/**
 * The ver the answer hashes to, or "" when §5.4 says not to trust it:
 * duplicate identities, duplicate features, or two forms of one
 * FORM_TYPE (the hash would be computed over something else than what
 * the entity said).
 */
/** What PEP uses of an entity's features: its `+notify` ones, bounded. */
function onlyNotify(features: Set<string>): Features {
  const out = new Set<string>();
  for (const f of features) {
    if (out.size >= MAX_NOTIFY_FEATURES) break;
    if (f.endsWith("+notify") && f.length <= MAX_FEATURE_CHARS) out.add(f);
  }
  return out;
}

function verify(query: Element, features: Set<string>): string {
  if (query.getChildren("feature").length !== features.size) return "";
  const ids = query.getChildren("identity").map((i) =>
    [i.attrs.category, i.attrs.type, i.attrs["xml:lang"] ?? "", i.attrs.name ?? ""].join("/")
  );
  if (new Set(ids).size !== ids.length) return "";
  const types = query.getChildren("x", NS_DATA).map((x) =>
    x.getChildren("field").find((f) => f.attrs.var === "FORM_TYPE")?.getChildText("value")
  ).filter((t) => t !== undefined);
  if (new Set(types).size !== types.length) return "";
  const identities = query.getChildren("identity").map((i) => ({
    category: i.attrs.category ?? "",
    type: i.attrs.type ?? "",
    name: i.attrs.name,
    lang: i.attrs["xml:lang"],
  }));
  return capsVer(identities, features, query.getChildren("x"));
}
