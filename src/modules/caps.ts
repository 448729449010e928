/**
 * Entity Capabilities (XEP-0115) verification strings, for the server's
 * own caps: the disco module advertises them as a stream feature and
 * answers disco#info on `<node>#<ver>`. Pure functions, no module state.
 */
import { createHash } from "node:crypto";
import type { Element } from "../xml/element.ts";
import type { DiscoIdentity } from "../core/host.ts";
import { NS_DATA, parseForm } from "../util/dataforms.ts";

/** The caps node naming this software (a stable URI; the ver changes, not this). */
export const CAPS_NODE = "https://parley.example/caps";

export interface CapsIdentity extends DiscoIdentity {
  lang?: string;
}

const encoder = new TextEncoder();

/** "i;octet" collation (RFC 4790): compare the UTF-8 bytes. */
function octetCompare(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * The verification string of XEP-0115 §5.1, SHA-1: identities, features
 * and extended-info forms (XEP-0128) in the specified order, hashed and
 * base64-encoded. Forms without a FORM_TYPE are left out, as §5.4 says a
 * processing entity ignores them.
 */
export function capsVer(
  identities: readonly CapsIdentity[],
  features: Iterable<string>,
  forms: readonly Element[] = [],
): string {
  let s = "";
  const ids = identities.map((i) => `${i.category}/${i.type}/${i.lang ?? ""}/${i.name ?? ""}`).sort(
    octetCompare,
  );
  for (const id of ids) s += id + "<";
  for (const f of [...new Set(features)].sort(octetCompare)) s += f + "<";
  const typed: { type: string; fields: Map<string, string[]> }[] = [];
  for (const x of forms) {
    if (x.name !== "x" || x.attrs.xmlns !== NS_DATA) continue;
    const fields = parseForm(x)!;
    const type = fields.get("FORM_TYPE")?.[0];
    if (type === undefined) continue;
    fields.delete("FORM_TYPE");
    typed.push({ type, fields });
  }
  typed.sort((a, b) => octetCompare(a.type, b.type));
  for (const { type, fields } of typed) {
    s += type + "<";
    for (const name of [...fields.keys()].sort(octetCompare)) {
      s += name + "<";
      for (const v of [...fields.get(name)!].sort(octetCompare)) s += v + "<";
    }
  }
  return createHash("sha1").update(s, "utf8").digest("base64");
}
