/**
 * The one XML element type of Parley. Stanzas, stream features and
 * payloads are all `Element`s; there is no second representation.
 *
 * Namespaces are carried as plain `xmlns` attributes: an element has an
 * `xmlns` attribute exactly when its namespace differs from its parent's
 * (for a stanza, from the stream's default namespace). The parser builds
 * trees in that shape and the serializer writes attributes as they are,
 * so a parsed stanza round-trips without namespace bookkeeping.
 *
 * Immutable by convention once routed: handlers that need a changed
 * stanza call `clone()` first.
 */
export type Node = Element | string;

export type Attrs = Record<string, string>;

export class Element {
  name: string;
  attrs: Attrs;
  children: Node[];

  constructor(name: string, attrs: Attrs = {}, children: Node[] = []) {
    this.name = name;
    this.attrs = attrs;
    this.children = children;
  }

  /** The element's own `xmlns` attribute (undefined when inherited). */
  get xmlns(): string | undefined {
    return this.attrs.xmlns;
  }

  attr(name: string): string | undefined {
    return this.attrs[name];
  }

  /** Set or (with undefined) remove an attribute; returns this for chaining. */
  setAttr(name: string, value: string | undefined): this {
    if (value === undefined) delete this.attrs[name];
    else this.attrs[name] = value;
    return this;
  }

  /** Append a child (element or text) and return this, for building. */
  append(...nodes: (Node | undefined | null | false)[]): this {
    for (const n of nodes) if (n !== undefined && n !== null && n !== false) this.children.push(n);
    return this;
  }

  /**
   * First child element called `name` whose own `xmlns` is `xmlns`. With
   * `xmlns` omitted, a child that inherits its parent's namespace matches.
   */
  getChild(name: string, xmlns?: string): Element | undefined {
    for (const c of this.children) {
      if (typeof c !== "string" && c.name === name && c.attrs.xmlns === xmlns) return c;
    }
    return undefined;
  }

  /** Like getChild but matches any namespace when `xmlns` is omitted. */
  findChild(name: string, xmlns?: string): Element | undefined {
    for (const c of this.children) {
      if (
        typeof c !== "string" && c.name === name && (xmlns === undefined || c.attrs.xmlns === xmlns)
      ) {
        return c;
      }
    }
    return undefined;
  }

  getChildren(name?: string, xmlns?: string): Element[] {
    const out: Element[] = [];
    for (const c of this.children) {
      if (typeof c === "string") continue;
      if (name !== undefined && c.name !== name) continue;
      if (xmlns !== undefined && c.attrs.xmlns !== xmlns) continue;
      out.push(c);
    }
    return out;
  }

  /** First child element with any name in namespace `xmlns`. */
  getChildByNs(xmlns: string): Element | undefined {
    for (const c of this.children) if (typeof c !== "string" && c.attrs.xmlns === xmlns) return c;
    return undefined;
  }

  /** The first child element, whatever its name (the payload of an iq). */
  firstElement(): Element | undefined {
    for (const c of this.children) if (typeof c !== "string") return c;
    return undefined;
  }

  /** Concatenated direct text children. */
  text(): string {
    let s = "";
    for (const c of this.children) if (typeof c === "string") s += c;
    return s;
  }

  getChildText(name: string, xmlns?: string): string | undefined {
    return this.getChild(name, xmlns)?.text();
  }

  /**
   * Deep copy; attributes and children are new objects. Iterative: a
   * peer's tree may be far deeper than the call stack (see `serialize`).
   * Each copy starts with a copy of the original's children array, whose
   * elements are then replaced by their copies in place: measured as fast
   * as the recursive version on a message, faster on wide trees.
   */
  clone(): Element {
    const root = new Element(this.name, { ...this.attrs }, this.children.slice());
    // Copies whose children are still the originals.
    const todo: Element[] = [root];
    while (todo.length !== 0) {
      const kids = todo.pop()!.children;
      for (let i = 0; i < kids.length; i++) {
        const c = kids[i];
        if (typeof c === "string") continue;
        const copy = new Element(c.name, { ...c.attrs }, c.children.slice());
        kids[i] = copy;
        if (copy.children.length !== 0) todo.push(copy);
      }
    }
    return root;
  }

  toString(): string {
    return serialize(this);
  }
}

/** Build an element: `el("message", { to, type }, el("body", {}, text))`. */
export function el(
  name: string,
  attrs: Record<string, string | undefined> = {},
  ...children: (Node | undefined | null | false)[]
): Element {
  const a: Attrs = {};
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== undefined) a[k] = v;
  }
  const kids: Node[] = [];
  for (const c of children) if (c !== undefined && c !== null && c !== false) kids.push(c);
  return new Element(name, a, kids);
}

// Separate non-global patterns for the test: a /g regex's test() keeps state.
// A carriage return in text came from a reference (&#13;): written raw, the
// next parser would read it as a line feed (XML 1.0 §2.11).
const TEXT_NEEDS = /[&<>\r]/;
// Line breaks and tabs too: a parser turns them into spaces in an attribute
// (XML 1.0 §3.3.3), so an id holding one would come back changed.
const ATTR_NEEDS = /[&<>"'\n\r\t]/;
const TEXT_ESCAPE = /[&<>\r]/g;
const ATTR_ESCAPE = /[&<>"'\n\r\t]/g;
const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\n": "&#10;",
  "\r": "&#13;",
  "\t": "&#9;",
};
const escapeChar = (c: string) => ESCAPES[c];

export function escapeText(s: string): string {
  // The test first avoids allocating for the common case of nothing to escape.
  return TEXT_NEEDS.test(s) ? s.replace(TEXT_ESCAPE, escapeChar) : s;
}

export function escapeAttr(s: string): string {
  return ATTR_NEEDS.test(s) ? s.replace(ATTR_ESCAPE, escapeChar) : s;
}

/**
 * Levels `serialize` descends by recursion before it hands a subtree to
 * the iterative walk. Real stanzas are a handful of levels deep (XHTML-IM
 * and forwarded MAM results ~10), so they never leave the recursive path;
 * 32 frames of a few hundred bytes is a bounded, small use of the stack.
 */
const RECURSION_BUDGET = 32;

/**
 * Serialize an element tree; attribute values and text are escaped.
 *
 * A stanza nested thousands of levels deep fits in the stanza size limit
 * (7 bytes a level) but not in the call stack of a plain recursive
 * serializer. This runs on every routed stanza, so it stays the plain
 * recursive writer for the first RECURSION_BUDGET levels — measured as
 * fast as before (bench/element_bench.ts), where a fully iterative walk
 * was 10–40 % slower on a chat message before the string is flattened —
 * and continues below that with an explicit stack.
 */
export function serialize(e: Element): string {
  return write(e, RECURSION_BUDGET);
}

function write(e: Element, budget: number): string {
  let s = startTag(e);
  const kids = e.children;
  if (kids.length === 0) return s + "/>";
  s += ">";
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i];
    s += typeof c === "string" ? escapeText(c) : budget !== 0 ? write(c, budget - 1) : writeDeep(c);
  }
  return s + "</" + e.name + ">";
}

/**
 * The same output as `write`, with an explicit stack instead of the call
 * stack: the element being written and the index of its next child live
 * in locals and are pushed only when descending.
 */
function writeDeep(root: Element): string {
  let s = startTag(root);
  if (root.children.length === 0) return s + "/>";
  s += ">";
  const parents: Element[] = [];
  const resume: number[] = [];
  let e = root;
  let kids = root.children;
  let i = 0;
  while (true) {
    if (i < kids.length) {
      const c = kids[i++];
      if (typeof c === "string") {
        s += escapeText(c);
      } else if (c.children.length === 0) {
        s += startTag(c) + "/>";
      } else {
        s += startTag(c) + ">";
        parents.push(e);
        resume.push(i);
        e = c;
        kids = c.children;
        i = 0;
      }
      continue;
    }
    s += "</" + e.name + ">";
    if (parents.length === 0) return s;
    e = parents.pop()!;
    kids = e.children;
    i = resume.pop()!;
  }
}

/** `<name attr='value'…` without the closing `>` or `/>`. */
function startTag(e: Element): string {
  let s = "<" + e.name;
  const attrs = e.attrs;
  for (const k in attrs) s += " " + k + "='" + escapeAttr(attrs[k]) + "'";
  return s;
}

/** The opening tag only, for `<stream:stream ...>`. */
export function openTag(name: string, attrs: Record<string, string | undefined>): string {
  let s = "<" + name;
  for (const k in attrs) {
    const v = attrs[k];
    if (v !== undefined) s += " " + k + "='" + escapeAttr(v) + "'";
  }
  return s + ">";
}
