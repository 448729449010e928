/**
 * Structure-aware mutations of valid XMPP sessions, for the fuzz tests
 * (tests/unit/xml_parser_fuzz_test.ts, tests/integration/fuzz_test.ts).
 *
 * Everything random comes from one seeded PRNG so that a failure can be
 * replayed: `PARLEY_FUZZ_SEED=<seed>` (printed on failure) and
 * `PARLEY_FUZZ_SECONDS=<n>` for longer runs than the CI default.
 */

/** Seconds a fuzz loop runs: the test's default, or PARLEY_FUZZ_SECONDS. */
export function fuzzSeconds(ciDefault: number): number {
  const env = Number(Deno.env.get("PARLEY_FUZZ_SECONDS"));
  return Number.isFinite(env) && env > 0 ? env : ciDefault;
}

/** PARLEY_FUZZ_SEED, or a fresh seed. */
export function fuzzSeed(): number {
  const env = Deno.env.get("PARLEY_FUZZ_SEED");
  return env !== undefined && env !== "" ? Number(env) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

/** A seeded uniform source in [0, 1): the same cases every run (Rng below). */
export function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

/** mulberry32: small, fast, and good enough to pick mutations. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** Mostly small, sometimes large: sizes an attacker would try. */
  size(max: number): number {
    const r = this.next();
    return r < 0.6
      ? this.int(Math.min(max, 40))
      : r < 0.9
      ? this.int(Math.min(max, 2000))
      : this.int(max);
  }
}

const B64_PLAIN = btoa("\0alice\0wonderland");

const C2S_HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' xml:lang='en'>";
const S2S_HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:server' " +
  "xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' " +
  "from='localhost' to='localhost' version='1.0'>";
const COMPONENT_HEADER = "<?xml version='1.0'?><stream:stream " +
  "xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams' " +
  "to='bots.localhost'>";

/** Valid sessions, as the pieces a client writes (a restart between some). */
export const SESSIONS: Record<"c2s" | "s2s" | "component", string[][]> = {
  c2s: [
    [
      C2S_HEADER,
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${B64_PLAIN}</auth>`,
      C2S_HEADER,
      "<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>" +
      "<resource>fuzz</resource></bind></iq>",
      "<presence><show>away</show><status>fuzzing &amp; more</status>" +
      "<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='n' ver='v='/></presence>",
      "<message to='bob@localhost' type='chat' id='m1'><body>héllo 😀 &lt;3</body>" +
      "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
      "<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
      "<iq type='set' id='p1'><pubsub xmlns='http://jabber.org/protocol/pubsub'>" +
      "<publish node='urn:xmpp:microblog:0'><item id='i'><entry xmlns='http://www.w3.org/2005/Atom'>" +
      "<title>t</title><content type='xhtml'><div xmlns='http://www.w3.org/1999/xhtml'><p>" +
      "<span style='x'><em>deep</em></span></p></div></content></entry></item></publish>" +
      "</pubsub></iq>",
      "<message to='alice@localhost/fuzz' id='x1'><body>b</body><html " +
      "xmlns='http://jabber.org/protocol/xhtml-im'><body xmlns='http://www.w3.org/1999/xhtml'>" +
      "<p><a href='x'><strong>b</strong></a></p></body></html></message>",
      "<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>",
      "<x:iq xmlns:x='jabber:client' type='get' id='d1'><y:query " +
      "xmlns:y='http://jabber.org/protocol/disco#info'/></x:iq>",
      "<message to='bob@localhost'><body><![CDATA[<not markup>]]></body></message>",
      "</stream:stream>",
    ],
    [
      C2S_HEADER,
      "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ],
    [
      C2S_HEADER,
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>" +
      btoa("n,,n=alice,r=abcdefghijklmnop") + "</auth>",
      "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>bm9wZQ==</response>",
      "<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
      "</stream:stream>",
    ],
  ],
  s2s: [
    [
      S2S_HEADER,
      "<db:result from='localhost' to='localhost'>deadbeef</db:result>",
      "<message from='a@localhost' to='bob@localhost'><body>x</body></message>",
      "</stream:stream>",
    ],
  ],
  component: [
    [
      COMPONENT_HEADER,
      "<handshake>0123456789abcdef0123456789abcdef01234567</handshake>",
      "<message from='x@bots.localhost' to='alice@localhost'><body>hi</body></message>",
      "</stream:stream>",
    ],
  ],
};

/** Offsets just before a `<`: where an element may be inserted or cut. */
function tagStarts(s: string): number[] {
  const out: number[] = [];
  for (let i = s.indexOf("<"); i >= 0; i = s.indexOf("<", i + 1)) out.push(i);
  return out;
}

function insertAt(s: string, at: number, what: string): string {
  return s.slice(0, at) + what + s.slice(at);
}

function deepNest(rng: Rng): string {
  const n = rng.chance(0.2) ? 20_000 + rng.int(60_000) : rng.int(80);
  const name = rng.pick(["a", "p:a", "x", "stream:features", "a xmlns='urn:z'"]);
  const open = "<" + name + ">";
  const close = "</" + name.split(" ")[0] + ">";
  return open.repeat(n) + (rng.chance(0.5) ? close.repeat(n) : "");
}

function manyAttributes(rng: Rng): string {
  const n = rng.size(300);
  let s = "<q";
  for (let i = 0; i < n; i++) {
    s += rng.pick([
      ` a${i}='v'`,
      ` xmlns:p${i}='urn:p${i}'`,
      ` p${i % 7}:b${i}=''`,
      ` xml:lang='e'`,
    ]);
  }
  return s + (rng.chance(0.8) ? "/>" : ">");
}

function hugeAttribute(rng: Rng): string {
  const fill = rng.pick(["y", "&amp;", "&#x1F600;", "é", " ", "<"]);
  return `<q v='${fill.repeat(rng.size(300_000))}'/>`;
}

function longName(rng: Rng): string {
  return "<" + "n".repeat(rng.size(300_000)) + "/>";
}

const GARBAGE = [
  "<!DOCTYPE x>",
  "<!-- c -->",
  "<?pi x?>",
  "<![CDATA[",
  "]]>",
  "&foo;",
  "&#0;",
  "&#x110000;",
  "&",
  "<",
  ">",
  "</>",
  "</foo>",
  "</stream:foo>",
  "</stream:stream>",
  "<stream:error/>",
  "<a:b/>",
  "<a xmlns:a=''/>",
  "<a xmlns='http://www.w3.org/2000/xmlns/'/>",
  "<a b='1' b='2'/>",
  "<?xml version='1.0' encoding='latin1'?>",
  "\u0000",
  "\uFFFE",
  "\uD800",
  " \t\r\n",
];

type Mutation = (s: string, rng: Rng, others: string[]) => string;

const MUTATIONS: Mutation[] = [
  // Deep nesting at an element boundary.
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, deepNest(rng)),
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, manyAttributes(rng)),
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, hugeAttribute(rng)),
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, longName(rng)),
  // Splice a fragment of another session in.
  (s, rng, others) => {
    const o = rng.pick(others);
    const a = rng.int(o.length);
    return insertAt(s, rng.int(s.length + 1), o.slice(a, a + rng.size(o.length)));
  },
  // Truncate.
  (s, rng) => s.slice(0, rng.int(s.length + 1)),
  // Drop a piece.
  (s, rng) => {
    const a = rng.int(s.length);
    return s.slice(0, a) + s.slice(a + rng.size(200));
  },
  // Repeat the stream header (or any piece) in the middle.
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, rng.pick([C2S_HEADER, S2S_HEADER])),
  (s, rng) => {
    const a = rng.int(s.length);
    return insertAt(s, a, s.slice(a, a + rng.size(500)).repeat(1 + rng.size(200)));
  },
  // Forbidden or odd constructs.
  (s, rng) => insertAt(s, rng.int(s.length + 1), rng.pick(GARBAGE)),
  // Swap an end tag's name.
  (s, rng) => {
    const ends = [...s.matchAll(/<\/([^>]+)>/g)];
    if (ends.length === 0) return s;
    const m = rng.pick(ends);
    return s.slice(0, m.index) + "</" + rng.pick(["foo", "stream:foo", "iq", "x:y"]) + ">" +
      s.slice(m.index! + m[0].length);
  },
  // Many tiny stanzas, or much whitespace.
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, "<a/>".repeat(rng.size(20_000))),
  (s, rng) => insertAt(s, rng.pick(tagStarts(s)) ?? 0, " ".repeat(rng.size(100_000))),
];

/** Every valid session as one text: what is fuzzed, and splice material for `mutate`. */
export const WHOLE_SESSIONS: string[] = Object.values(SESSIONS).flat().map((p) => p.join(""));

/** A session's text, mutated 1–4 times. */
export function mutate(session: string, rng: Rng, others: string[]): string {
  let s = session;
  const n = 1 + rng.int(4);
  for (let i = 0; i < n; i++) s = rng.pick(MUTATIONS)(s, rng, others);
  return s;
}

/** UTF-8 bytes of `text`, sometimes with flipped bytes or invalid sequences. */
export function toBytes(text: string, rng: Rng, corrupt = rng.chance(0.3)): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (!corrupt) return bytes;
  const out = Array.from(bytes);
  const n = 1 + rng.int(5);
  for (let i = 0; i < n; i++) {
    const at = rng.int(out.length + 1);
    if (rng.chance(0.5) && at < out.length) out[at] ^= 1 << rng.int(8);
    else out.splice(at, 0, ...rng.pick([[0xff], [0xc0, 0x80], [0x80], [0xed, 0xa0, 0x80], [0xf8]]));
  }
  return new Uint8Array(out);
}

/** Cut `length` items into random pieces: 1 byte, a few, or large. */
export function chunkSizes(length: number, rng: Rng): number[] {
  const out: number[] = [];
  // One or a few bytes at a time only for short inputs: a test must stay fast.
  const style = length > 20_000 ? 1 + rng.int(2) : rng.int(3);
  for (let left = length; left > 0;) {
    const n = Math.min(
      left,
      style === 0 ? 1 + rng.int(4) : style === 1 ? 1 + rng.int(200) : 1 + rng.int(70_000),
    );
    out.push(n);
    left -= n;
  }
  return out;
}
