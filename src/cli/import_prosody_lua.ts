/**
 * A reader for the Lua data Prosody's internal storage writes: `.dat`
 * files (`return { ... };`) and `.list` files (`item({ ... });` lines).
 * It parses literals only — strings, numbers, booleans, nil and tables,
 * plus the `(1/0)`-style forms Prosody writes for infinities and NaN —
 * and never evaluates anything: a data directory is not trusted code.
 * Nesting depth, table size and input length are bounded, so a damaged
 * or hostile file is an error, never a hang or a stack overflow.
 *
 * Lua strings are bytes: they are returned as "binary" JS strings (one
 * char per byte, 0–255); `utf8Text` turns one into text.
 */

export type LuaKey = string | number | boolean;
export type LuaValue = string | number | boolean | LuaTable;

/** A Lua table: positional values under the keys 1..n, like Lua itself. */
export class LuaTable {
  readonly entries = new Map<LuaKey, LuaValue>();

  get(key: LuaKey): LuaValue | undefined {
    return this.entries.get(key);
  }

  /** The array part: values under 1, 2, 3… up to the first gap. */
  list(): LuaValue[] {
    const out: LuaValue[] = [];
    for (let i = 1; this.entries.has(i); i++) out.push(this.entries.get(i)!);
    return out;
  }

  /** The entries with string keys, the keys as they are (binary strings). */
  *stringEntries(): Iterable<[string, LuaValue]> {
    for (const [k, v] of this.entries) if (typeof k === "string") yield [k, v];
  }
}

export interface LuaLimits {
  /** Deepest table nesting accepted. */
  maxDepth: number;
  /** Most entries in one table. */
  maxEntries: number;
  /** Longest input, in bytes. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: LuaLimits = {
  maxDepth: 64,
  maxEntries: 1_000_000,
  maxBytes: 64 * 1024 * 1024,
};

export class LuaSyntaxError extends Error {}

/** Bytes to a binary string (latin1 would remap 0x80–0x9f under TextDecoder). */
export function binaryString(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return s;
}

export function binaryBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A Lua string as text; undefined when its bytes are not UTF-8. */
export function utf8Text(s: string): string | undefined {
  try {
    return strictUtf8.decode(binaryBytes(s));
  } catch {
    return undefined;
  }
}

/** A `.dat` file: `return <value>;`. */
export function parseLuaReturn(bytes: Uint8Array, limits: LuaLimits = DEFAULT_LIMITS): LuaValue {
  const p = new Parser(bytes, limits);
  p.expectWord("return");
  const v = p.value(0);
  p.skip();
  p.accept(";");
  p.end();
  return v;
}

/** A `.list` file: `item(<value>);` repeated; at most `limits.maxEntries` items. */
export function parseLuaItems(bytes: Uint8Array, limits: LuaLimits = DEFAULT_LIMITS): LuaValue[] {
  const p = new Parser(bytes, limits);
  const items: LuaValue[] = [];
  while (!p.atEnd()) {
    if (items.length >= limits.maxEntries) p.fail(`more than ${limits.maxEntries} items`);
    p.expectWord("item");
    p.expect("(");
    items.push(p.value(0));
    p.expect(")");
    p.accept(";");
  }
  return items;
}

const ESCAPES: Record<string, string> = {
  a: "\x07",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
  v: "\v",
  "\\": "\\",
  '"': '"',
  "'": "'",
  "\n": "\n",
};

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;

class Parser {
  #s: string;
  #i = 0;

  constructor(bytes: Uint8Array, readonly limits: LuaLimits) {
    if (bytes.length > limits.maxBytes) {
      throw new LuaSyntaxError(`file larger than ${limits.maxBytes} bytes`);
    }
    this.#s = binaryString(bytes);
  }

  fail(why: string): never {
    const line = this.#s.slice(0, this.#i).split("\n").length;
    throw new LuaSyntaxError(`line ${line}: ${why}`);
  }

  /** Whitespace and comments. */
  skip(): void {
    const s = this.#s;
    for (;;) {
      while (this.#i < s.length && " \t\r\n\f\v".includes(s[this.#i])) this.#i++;
      if (s.startsWith("--", this.#i)) {
        this.#i += 2;
        const long = this.#longBracket();
        if (long !== undefined) continue;
        const nl = s.indexOf("\n", this.#i);
        this.#i = nl < 0 ? s.length : nl + 1;
        continue;
      }
      return;
    }
  }

  atEnd(): boolean {
    this.skip();
    return this.#i >= this.#s.length;
  }

  end(): void {
    if (!this.atEnd()) this.fail(`unexpected ${JSON.stringify(this.#s[this.#i])} after the value`);
  }

  accept(token: string): boolean {
    this.skip();
    if (!this.#s.startsWith(token, this.#i)) return false;
    this.#i += token.length;
    return true;
  }

  expect(token: string): void {
    if (!this.accept(token)) this.fail(`expected "${token}"`);
  }

  expectWord(word: string): void {
    this.skip();
    if (this.#name() !== word) this.fail(`expected "${word}"`);
  }

  #name(): string | undefined {
    NAME.lastIndex = this.#i;
    const m = NAME.exec(this.#s);
    if (!m) return undefined;
    this.#i += m[0].length;
    return m[0];
  }

  value(depth: number): LuaValue {
    this.skip();
    const s = this.#s;
    const c = s[this.#i];
    if (c === "{") return this.#table(depth + 1);
    if (c === '"' || c === "'") return this.#quoted();
    if (c === "[") {
      const long = this.#longBracket();
      if (long !== undefined) return long;
    }
    if (c === "(") {
      // Prosody writes infinities and NaN as (1/0), (-1/0), (0/0).
      this.#i++;
      const a = this.#number();
      this.expect("/");
      const b = this.#number();
      this.expect(")");
      return a / b;
    }
    if (c === "-" || c === "." || (c >= "0" && c <= "9")) return this.#number();
    const start = this.#i;
    const word = this.#name();
    if (word === "true") return true;
    if (word === "false") return false;
    this.#i = start;
    // nil is not a value a table can hold: refusing it keeps the model simple.
    return this.fail(word === undefined ? "expected a value" : `unexpected "${word}"`);
  }

  #number(): number {
    this.skip();
    let sign = 1;
    while (this.accept("-")) sign = -sign;
    this.skip();
    NUMBER.lastIndex = this.#i;
    const m = NUMBER.exec(this.#s);
    if (!m) this.fail("expected a number");
    this.#i += m[0].length;
    const n = /^0[xX]/.test(m[0]) ? parseInt(m[0], 16) : Number(m[0]);
    if (Number.isNaN(n)) this.fail(`bad number ${m[0]}`);
    return sign * n;
  }

  #table(depth: number): LuaTable {
    if (depth > this.limits.maxDepth) {
      this.fail(`tables nested deeper than ${this.limits.maxDepth}`);
    }
    this.expect("{");
    const t = new LuaTable();
    let next = 1;
    const put = (k: LuaKey, v: LuaValue) => {
      if (t.entries.size >= this.limits.maxEntries) {
        this.fail(`a table with more than ${this.limits.maxEntries} entries`);
      }
      t.entries.set(k, v);
    };
    for (;;) {
      if (this.accept("}")) return t;
      this.skip();
      const s = this.#s;
      if (s[this.#i] === "[" && s[this.#i + 1] !== "[" && s[this.#i + 1] !== "=") {
        this.#i++;
        const key = this.value(depth);
        if (key instanceof LuaTable) this.fail("a table as a key");
        if (typeof key === "number" && Number.isNaN(key)) this.fail("NaN as a key");
        this.expect("]");
        this.expect("=");
        put(key, this.value(depth));
      } else {
        const start = this.#i;
        const name = this.#name();
        if (name !== undefined && name !== "true" && name !== "false" && this.accept("=")) {
          put(name, this.value(depth));
        } else {
          this.#i = start;
          put(next++, this.value(depth));
        }
      }
      if (!this.accept(";") && !this.accept(",")) {
        this.expect("}");
        return t;
      }
    }
  }

  #quoted(): string {
    const s = this.#s;
    const quote = s[this.#i++];
    let out = "";
    for (;;) {
      if (this.#i >= s.length) this.fail("unfinished string");
      const c = s[this.#i++];
      if (c === quote) return out;
      if (c === "\n") this.fail("unfinished string");
      if (c !== "\\") {
        out += c;
        continue;
      }
      const e = s[this.#i++];
      if (e === undefined) this.fail("unfinished string");
      if (e in ESCAPES) {
        out += ESCAPES[e];
      } else if (e === "\r") {
        out += "\n";
        if (s[this.#i] === "\n") this.#i++;
      } else if (e >= "0" && e <= "9") {
        const m = /^[0-9]{1,3}/.exec(s.slice(this.#i - 1, this.#i + 2))!;
        const code = Number(m[0]);
        if (code > 255) this.fail(`escape \\${m[0]} out of range`);
        out += String.fromCharCode(code);
        this.#i += m[0].length - 1;
      } else if (e === "x") {
        const hex = s.slice(this.#i, this.#i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(hex)) this.fail("bad \\x escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.#i += 2;
      } else if (e === "z") {
        while (this.#i < s.length && " \t\r\n\f\v".includes(s[this.#i])) this.#i++;
      } else if (e === "u") {
        const m = /^\{([0-9a-fA-F]{1,8})\}/.exec(s.slice(this.#i, this.#i + 10));
        const cp = m ? parseInt(m[1], 16) : NaN;
        if (!m || cp > 0x10ffff) this.fail("bad \\u escape");
        out += binaryString(new TextEncoder().encode(String.fromCodePoint(cp)));
        this.#i += m[0].length;
      } else {
        this.fail(`bad escape \\${e}`);
      }
    }
  }

  /** `[[...]]`, `[==[...]==]` at the cursor: its contents; undefined (cursor kept) otherwise. */
  #longBracket(): string | undefined {
    const m = /^\[(=*)\[/.exec(this.#s.slice(this.#i, this.#i + 64));
    if (!m) return undefined;
    const close = "]" + m[1] + "]";
    const start = this.#i + m[0].length;
    const end = this.#s.indexOf(close, start);
    if (end < 0) this.fail("unfinished long string");
    this.#i = end + close.length;
    const body = this.#s.slice(start, end);
    // Lua drops a newline right after the opening bracket.
    return body.startsWith("\r\n") ? body.slice(2) : body.startsWith("\n") ? body.slice(1) : body;
  }
}
