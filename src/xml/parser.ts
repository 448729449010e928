/**
 * The XMPP stream parser: incremental, namespace-aware XML (saxes) turned
 * into frames — the stream header, one `Element` per depth-1 stanza, the
 * stream close, or the first error (RFC 6120 §11 restrictions, §4.9.3
 * conditions, and limits on stanza size, nesting depth and attributes per
 * element, checked while the input streams in). After an error nothing more is parsed: the stream handler
 * sends the stream error and closes the connection.
 */
import { type SaxesAttributeNS, SaxesParser, type SaxesTagNS, type XMLDecl } from "saxes";
import { Element, escapeAttr } from "./element.ts";
import { NS } from "./namespaces.ts";
import type { StreamErrorCondition } from "../core/errors.ts";

export type Frame =
  | { kind: "open"; name: string; ns: string; attrs: Record<string, string> }
  | {
    kind: "stanza";
    element: Element;
    size: number;
    /**
     * Source offset just after it (characters since the stream started;
     * see `XmlFrameParser.offset`); set by this parser only.
     */
    end?: number;
  }
  | { kind: "close" }
  | { kind: "error"; condition: StreamErrorCondition; text: string };

export interface ParserOptions {
  /** Largest stanza, in UTF-16 code units of source text (≈ bytes for ASCII). */
  maxStanzaSize: number;
  /**
   * Deepest element allowed, counted from the stanza: the stanza itself is
   * depth 1, its children depth 2 (the stream element is depth 0).
   */
  maxStanzaDepth: number;
  /** Most attributes on one element, namespace declarations included. */
  maxAttributes: number;
}

/**
 * Depth 32 is well above the deepest legitimate stanzas (a MAM result
 * holding a forwarded carbon of a pubsub event with an Atom entry and
 * XHTML content is about 20 deep), and saxes resolves every unprefixed
 * name by walking the open elements, so parse cost per byte grows with
 * the depth allowed. 64 attributes: Jingle candidates, the busiest
 * standard element, carry 12; Tigase caps elements at 50.
 */
const PARSER_DEFAULTS: ParserOptions = {
  maxStanzaSize: 262144,
  maxStanzaDepth: 32,
  maxAttributes: 64,
};

/**
 * Server-to-server and component streams carry what a server wrapped
 * around a client's stanza (a forwarded carbon, a MAM result: 2 levels
 * each); refusing it would tear down the link for every user behind it.
 * Their defaults (`s2s.maxStanzaDepth`, `component.maxStanzaDepth`) are
 * the client default plus this, and their schema bound MAX_STANZA_DEPTH
 * plus this.
 */
export const RELAY_DEPTH_ALLOWANCE = 8;

/**
 * The deepest nesting any stream may be configured to accept (with the
 * server-to-server allowance on top): the schema's bound on
 * `c2s.maxStanzaDepth`, and what stored stanzas are read back with.
 */
export const MAX_STANZA_DEPTH = 1000;

/** A stream header never needs more; anything bigger is an attack. */
const MAX_HEADER = 8192;
/**
 * Big chunks are fed in slices so the size limit is checked while a huge
 * stanza streams in, instead of after saxes has buffered all of it.
 */
const SLICE = 16384;

const LT = 0x3c;

// Thrown through saxes to abandon the rest of a chunk at once: saxes keeps
// parsing after reporting an error, and a reset must not see old input.
const STOP = Symbol("stop");
const RESTART = Symbol("restart");

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function allWs(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) if (!isWs(s.charCodeAt(i))) return false;
  return true;
}

/** Maps a saxes error message to the stream error a peer should get. */
function conditionFor(message: string): StreamErrorCondition {
  if (message.includes("prefix")) return "bad-namespace-prefix";
  if (message.includes("undefined entity") || message.includes("doctype")) {
    return "restricted-xml";
  }
  return "not-well-formed";
}

type Saxes = SaxesParser<{ xmlns: true; position: false }>;

/**
 * saxes' handler slots, assigned directly instead of through `on()`: `on()`
 * adds them with keyed stores, and from the seventh one V8 turns the parser
 * into a dictionary-mode object, which measured 3× slower parsing. The
 * forbidden-construct tests fail if a saxes upgrade renames these.
 */
interface HandlerSlots {
  errorHandler: (err: Error) => void;
  openTagStartHandler: (tag: { name: string }) => void;
  attributeHandler: () => void;
  openTagHandler: (tag: SaxesTagNS) => void;
  closeTagHandler: (tag: SaxesTagNS) => void;
  textHandler: (text: string) => void;
  cdataHandler: (text: string) => void;
  xmldeclHandler: (decl: XMLDecl) => void;
  doctypeHandler: () => void;
  commentHandler: () => void;
  piHandler: () => void;
  /** saxes' end-tag step and the name it is about to close (cleared before the callback). */
  closeTag: () => void;
  name: string;
}

export class XmlFrameParser {
  readonly #onFrame: (f: Frame) => void;
  readonly #max: number;
  readonly #maxDepth: number;
  readonly #maxAttributes: number;
  /** Attributes seen so far on the element being opened. */
  #attributes = 0;
  /** Name written in the end tag being processed; saxes reports only the open tag. */
  #endTagName = "";
  /** Undefined after compact() until the next input rebuilds it. */
  #sax: Saxes | undefined;
  /** The stream element's tag with only its namespace declarations, for rebuilding. */
  #streamTag = "";
  /** Feeding #streamTag to a rebuilt saxes: its events are not frames. */
  #replaying = false;
  /** Open stanza elements, outermost first; empty between stanzas. */
  #stack: Element[] = [];
  /** Namespace URI of each open element; [0] is the stream's default namespace. */
  #nsStack: string[] = [];
  #opened = false;
  #stopped = false;
  /** Between stanzas with only whitespace pending: leading whitespace can be dropped. */
  #atBoundary = false;
  /** Source offset of the current stanza's `<` (or of the last boundary). */
  #segStart = 0;
  #stanzaStart = 0;
  /** Source chars received, and chars handed to saxes (dropped whitespace excluded). */
  #total = 0;
  #fed = 0;
  /** Add to saxes' `position` (valid inside callbacks only) to get a source offset. */
  #delta = 0;
  /** Source offset just after the last depth-1 event in the current piece, or -1. */
  #mark = -1;
  #writing = false;
  #resetPending = false;
  /** The pending reset drops the rest of the input being written. */
  #discardRest = false;
  /** Set by such a reset: write() feeds no further slices of its chunk. */
  #dropChunk = false;

  constructor(onFrame: (f: Frame) => void, options?: Partial<ParserOptions>) {
    this.#onFrame = onFrame;
    this.#max = options?.maxStanzaSize ?? PARSER_DEFAULTS.maxStanzaSize;
    this.#maxDepth = options?.maxStanzaDepth ?? PARSER_DEFAULTS.maxStanzaDepth;
    this.#maxAttributes = options?.maxAttributes ?? PARSER_DEFAULTS.maxAttributes;
    this.#init();
  }

  /**
   * Fresh state for a restarted stream (after STARTTLS or SASL success).
   * With `discardRest` (STARTTLS) the rest of the chunk being parsed is
   * dropped: it arrived before TLS and must not count as part of the
   * secured stream (RFC 6120 §5.4.3.3).
   */
  reset(discardRest = false): void {
    // Called from inside onFrame: finish the current callback first, then
    // write() hands the rest of the chunk to the fresh parser (or drops it).
    if (this.#writing) {
      this.#resetPending = true;
      this.#discardRest = discardRest;
    } else this.#init();
  }

  /**
   * Release saxes' state (about 2.5 KB) while the stream sits between
   * stanzas; the next write rebuilds it from the stream header's
   * namespace declarations. For idle sessions, of which a server holds
   * thousands. Returns false (and does nothing) mid-stanza.
   */
  compact(): boolean {
    if (
      !this.#opened || this.#stopped || this.#writing || !this.#atBoundary ||
      this.#stack.length !== 0 || this.#sax === undefined
    ) {
      return false;
    }
    this.#sax = undefined;
    return true;
  }

  /**
   * Source characters written since the stream (re)started, whitespace
   * dropped between stanzas and input after an error included (but not
   * slices of a chunk write() no longer feeds once stopped): what a
   * stanza frame's `end` counts.
   */
  get offset(): number {
    return this.#total;
  }

  get isCompact(): boolean {
    return this.#sax === undefined;
  }

  /**
   * Inside the stream element, between stanzas, with nothing pending and
   * no error: what a framing that hands over one element per message
   * (WebSocket) checks after each message.
   */
  get atStreamLevel(): boolean {
    return this.#opened && !this.#stopped && this.#stack.length === 0 && this.#atBoundary;
  }

  write(chunk: string): void {
    if (this.#stopped || chunk.length === 0) return;
    this.#dropChunk = false;
    if (chunk.length <= SLICE) {
      this.#feed(chunk);
      return;
    }
    for (let i = 0; i < chunk.length && !this.#stopped && !this.#dropChunk; i += SLICE) {
      this.#feed(chunk.slice(i, i + SLICE));
    }
  }

  #init(): void {
    this.#sax = this.#newSax();
    this.#streamTag = "";
    this.#stack = [];
    this.#nsStack = [];
    this.#opened = false;
    this.#stopped = false;
    // Start at a boundary: whitespace before the (new) stream header is
    // skipped. After `<starttls/>\n` a restart inside the callback hands
    // the trailing newline to the fresh parser, and saxes would then
    // refuse the `<?xml?>` that follows (seen with go-sendxmpp).
    this.#atBoundary = true;
    this.#resetPending = false;
    this.#discardRest = false;
    this.#segStart = 0;
    this.#stanzaStart = 0;
    this.#total = 0;
    this.#fed = 0;
    this.#delta = 0;
    this.#mark = -1;
  }

  #newSax(): Saxes {
    const sax: Saxes = new SaxesParser({ xmlns: true, position: false });
    const slots = sax as unknown as HandlerSlots;
    slots.errorHandler = this.#onError;
    slots.openTagStartHandler = this.#onOpenTagStart;
    slots.attributeHandler = this.#onAttribute;
    slots.openTagHandler = this.#onOpenTag;
    slots.closeTagHandler = this.#onCloseTag;
    slots.textHandler = this.#onText;
    slots.cdataHandler = this.#onText;
    slots.xmldeclHandler = this.#onXmlDecl;
    slots.doctypeHandler = this.#onRestricted;
    slots.commentHandler = this.#onRestricted;
    slots.piHandler = this.#onRestricted;
    // saxes checks that an end tag matches only after the close callback
    // has run, so the callback could emit a stanza (or the stream close)
    // for `<message></iq>` or `</foo>`. Keep the end tag's name to check first.
    const closeTag = slots.closeTag;
    slots.closeTag = () => {
      this.#endTagName = slots.name;
      closeTag.call(sax);
    };
    return sax;
  }

  /** After compact(): a fresh saxes, put back inside the stream element. */
  #revive(): Saxes {
    const sax = this.#newSax();
    this.#sax = sax;
    this.#replaying = true;
    try {
      sax.write(this.#streamTag);
    } finally {
      this.#replaying = false;
    }
    // Offsets are computed from saxes' position: it has now seen the tag.
    this.#fed = this.#streamTag.length;
    return sax;
  }

  #feed(piece: string): void {
    let s = 0;
    if (this.#atBoundary) {
      // Whitespace keepalives are dropped here rather than fed to saxes,
      // which would buffer them until the next `<` however long that takes.
      const n = piece.length;
      while (s < n && isWs(piece.charCodeAt(s))) s++;
      if (s === n) {
        this.#total += n;
        return;
      }
      if (piece.charCodeAt(s) !== LT) {
        this.#total += n;
        this.#fail("not-well-formed", "text directly inside the stream element");
        return;
      }
      this.#atBoundary = false;
      this.#segStart = this.#total + s;
    }
    const pieceStart = this.#total + s;
    const input = s === 0 ? piece : piece.slice(s);
    this.#mark = -1;
    const sax = this.#sax ?? this.#revive();
    this.#delta = pieceStart - this.#fed;
    this.#writing = true;
    try {
      sax.write(input);
    } catch (e) {
      if (e === RESTART) {
        const discard = this.#discardRest;
        const rest = discard ? "" : piece.slice(this.#mark - pieceStart + s);
        this.#writing = false;
        this.#init();
        this.#dropChunk = discard;
        if (rest.length !== 0) this.#feed(rest);
        return;
      }
      if (e !== STOP) {
        // A throwing frame handler left saxes mid-chunk: its state is unusable.
        this.#stopped = true;
        throw e;
      }
      // The handler of an error or close frame may have asked for a reset.
      if (this.#resetPending) {
        this.#writing = false;
        this.#init();
      } else this.#total += piece.length; // `offset` counts what was written, parsed or not
      return;
    } finally {
      this.#writing = false;
    }
    this.#fed += input.length;
    this.#total += piece.length;
    if (!this.#opened) {
      if (this.#total > MAX_HEADER) this.#fail("policy-violation", "stream header too large");
      return;
    }
    if (this.#mark >= 0) {
      // What follows the last stanza is either whitespace (a boundary), the
      // start of more markup, or text that saxes would only report at the next `<`.
      let i = this.#mark - pieceStart + s;
      while (i < piece.length && isWs(piece.charCodeAt(i))) i++;
      this.#atBoundary = i === piece.length;
      if (!this.#atBoundary && piece.charCodeAt(i) !== LT) {
        this.#fail("not-well-formed", "text directly inside the stream element");
        return;
      }
    }
    if (!this.#atBoundary && this.#total - this.#segStart > this.#max) {
      this.#fail("policy-violation", "stanza too large");
    }
  }

  /** Source offset of saxes' current position (inside a callback). */
  #pos(): number {
    return this.#sax!.position + this.#delta;
  }

  #emit(f: Frame): void {
    this.#onFrame(f);
    if (this.#resetPending) {
      this.#mark = this.#pos();
      throw RESTART;
    }
  }

  /** Emits the error frame; nothing more is parsed until reset(). */
  #fail(condition: StreamErrorCondition, text: string): void {
    this.#stopped = true;
    this.#onFrame({ kind: "error", condition, text });
  }

  /** #fail from inside a saxes callback: also abandons the rest of the chunk. */
  #abort(condition: StreamErrorCondition, text: string): never {
    this.#fail(condition, text);
    throw STOP;
  }

  // Handlers are arrow-function fields: created once per parser, shared by
  // every saxes instance it makes on reset.

  #onError = (err: Error): void => {
    this.#abort(conditionFor(err.message), err.message);
  };

  #onRestricted = (): void => {
    this.#abort("restricted-xml", "DOCTYPE, comments and processing instructions are not allowed");
  };

  #onXmlDecl = (decl: XMLDecl): void => {
    // XMPP is XML 1.0 (RFC 6120 §11.4). saxes would switch to XML 1.1's
    // rules, which admit control characters as references (&#1;): passed
    // on raw, they end every XML 1.0 stream they reach.
    if (decl.version !== "1.0") this.#abort("unsupported-version", "XML 1.0 only");
    const enc = decl.encoding;
    if (enc !== undefined && enc.toLowerCase() !== "utf-8") {
      this.#abort("unsupported-encoding", "streams must be UTF-8");
    }
  };

  #onOpenTagStart = (tag: { name: string }): void => {
    if (this.#replaying) return;
    this.#attributes = 0;
    // Checked before saxes reads the attributes and resolves the name's
    // namespace, which walks every open element: the cost of depth is never paid.
    if (this.#stack.length >= this.#maxDepth) {
      this.#abort("policy-violation", "stanza nested too deeply");
    }
    if (this.#opened && this.#stack.length === 0) {
      // saxes reports the tag once its name and the following character are read.
      this.#stanzaStart = this.#segStart = this.#pos() - tag.name.length - 2;
      this.#mark = -1;
    }
  };

  // saxes collects every attribute of an element before it reports any,
  // and handling tens of thousands at once stalls the process: count them
  // as they are read.
  #onAttribute = (): void => {
    if (++this.#attributes > this.#maxAttributes && !this.#replaying) {
      this.#abort("policy-violation", "too many attributes");
    }
  };

  #onOpenTag = (tag: SaxesTagNS): void => {
    if (this.#replaying) return;
    if (!this.#opened) return this.#openStream(tag);
    const stack = this.#stack;
    const nsStack = this.#nsStack;
    const uri = tag.uri;
    const attrs: Record<string, string> = {};
    // Stream-namespace elements keep the `stream:` prefix the stream header declares.
    if (uri !== nsStack[nsStack.length - 1] && uri !== NS.stream) attrs.xmlns = uri;
    const src = tag.attributes;
    for (const k in src) {
      const a: SaxesAttributeNS = src[k];
      const prefix = a.prefix;
      if (prefix === "") {
        if (k !== "xmlns") attrs[k] = a.value;
      } else if (prefix !== "xmlns") {
        attrs[k] = a.value;
        // Prefixes of elements are dropped, so a prefixed attribute carries
        // its own declaration to stay well-formed when serialized.
        if (prefix !== "xml") attrs["xmlns:" + prefix] = a.uri;
      }
    }
    const name = uri === NS.stream ? "stream:" + tag.local : tag.local;
    const e = new Element(name, attrs, []);
    if (stack.length !== 0) stack[stack.length - 1].children.push(e);
    stack.push(e);
    nsStack.push(uri);
  };

  #openStream(tag: SaxesTagNS): void {
    const attrs: Record<string, string> = {};
    let decls = "";
    for (const k in tag.attributes) {
      const value = tag.attributes[k].value;
      attrs[k] = value;
      if (k === "xmlns" || k.startsWith("xmlns:")) {
        decls += " " + k + "='" + escapeAttr(value) + "'";
      }
    }
    this.#streamTag = "<" + tag.name + decls + ">";
    const end = this.#pos();
    // Also checked here: a whole oversized header can arrive in one chunk.
    if (end > MAX_HEADER) this.#abort("policy-violation", "stream header too large");
    this.#opened = true;
    this.#nsStack.push(tag.ns[""] ?? "");
    this.#mark = this.#segStart = end;
    this.#emit({ kind: "open", name: tag.name, ns: tag.uri, attrs });
  }

  #onCloseTag = (tag: SaxesTagNS): void => {
    if (!tag.isSelfClosing && tag.name !== this.#endTagName) {
      // `</stream:foo>` where `</stream:stream>` is due is not a stream close.
      // Names are cut short: the text goes back to the peer that sent them.
      this.#abort(
        "not-well-formed",
        `end tag </${this.#endTagName.slice(0, 64)}> does not match <${tag.name.slice(0, 64)}>`,
      );
    }
    const stack = this.#stack;
    if (stack.length === 0) {
      this.#stopped = true;
      this.#emit({ kind: "close" });
      // Nothing may follow the stream close; the rest of the chunk is dropped.
      throw STOP;
    }
    const e = stack.pop()!;
    this.#nsStack.pop();
    if (stack.length !== 0) return;
    const end = this.#pos();
    const size = end - this.#stanzaStart;
    if (size > this.#max) this.#abort("policy-violation", "stanza too large");
    this.#mark = this.#segStart = end;
    this.#emit({ kind: "stanza", element: e, size, end });
  };

  #onText = (text: string): void => {
    const stack = this.#stack;
    if (stack.length === 0) {
      // Only whitespace may sit between stanzas (text before the root is a saxes error).
      if (this.#opened && !allWs(text, 0)) {
        this.#abort("not-well-formed", "text directly inside the stream element");
      }
      return;
    }
    const kids = stack[stack.length - 1].children;
    const last = kids.length - 1;
    // CDATA and text arrive as separate events; the tree keeps one merged string.
    if (last >= 0 && typeof kids[last] === "string") kids[last] += text;
    else kids.push(text);
  };
}
