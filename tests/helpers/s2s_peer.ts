/**
 * A scripted remote server for s2s tests: opens a `jabber:server` stream
 * to Parley, does STARTTLS and dialback when told to, and then sends
 * whatever the test wants (spoofed stanzas…). Every wait is bounded.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";

const WAIT_MS = 5000;

/** A certificate and its key, PEM (what `generateSelfSigned` returns). */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

export class S2sPeer {
  socket!: net.Socket;
  #frames: Frame[] = [];
  #waiters: (() => void)[] = [];
  #parser = new XmlFrameParser((f) => this.#push(f), { maxStanzaSize: 1_000_000 });
  #decoder = new TextDecoder();
  #closed = false;
  streamId: string | undefined;
  /** The attributes of the last stream header Parley sent. */
  header: Record<string, string> | undefined;

  private constructor(
    readonly from: string,
    readonly to: string,
    /** Our header's version; null sends none (a pre-1.0 server). */
    readonly version: string | null = "1.0",
  ) {}

  /**
   * Connect and open the stream; unless `openAfterTls` is false, also do
   * STARTTLS (presenting `cert` when given) and reopen, so the stream is
   * ready for dialback.
   */
  static async connect(
    port: number,
    from: string,
    to: string,
    {
      openAfterTls = true,
      version = "1.0" as string | null,
      cert = undefined as PemPair | undefined,
    } = {},
  ): Promise<S2sPeer> {
    const p = new S2sPeer(from, to, version);
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    p.#attach(socket);
    p.open();
    if (openAfterTls) {
      await p.features();
      await p.starttls(cert);
      p.open();
      await p.features();
    }
    return p;
  }

  #attach(socket: net.Socket): void {
    this.socket = socket;
    socket.on(
      "data",
      (d: Uint8Array) => this.#parser.write(this.#decoder.decode(d, { stream: true })),
    );
    socket.on("close", () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  #push(f: Frame): void {
    if (f.kind === "open") {
      this.streamId = f.attrs.id;
      this.header = f.attrs;
    }
    this.#frames.push(f);
    this.#wake();
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  send(xml: string): void {
    this.socket.write(xml);
  }

  /** A new stream header (fresh parser). */
  open(): void {
    this.#parser.reset();
    this.send(
      `<?xml version='1.0'?><stream:stream xmlns='jabber:server' ` +
        `xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' ` +
        `from='${this.from}' to='${this.to}'` +
        (this.version === null ? ">" : ` version='${this.version}'>`),
    );
  }

  async next(pred: (f: Frame) => boolean, ms = WAIT_MS): Promise<Frame> {
    const deadline = Date.now() + ms;
    while (true) {
      const i = this.#frames.findIndex(pred);
      if (i >= 0) return this.#frames.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed) {
        throw new Error(
          "timed out waiting; have " + JSON.stringify(this.#frames.map((f) => f.kind)),
        );
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async element(pred: (e: Element) => boolean, ms = WAIT_MS): Promise<Element> {
    const f = await this.next((f) => f.kind === "stanza" && pred(f.element), ms);
    return (f as { element: Element }).element;
  }

  features(): Promise<Element> {
    return this.element((e) => e.name === "stream:features");
  }

  async starttls(cert?: PemPair): Promise<void> {
    this.send(`<starttls xmlns='${NS.tls}'/>`);
    await this.element((e) => e.name === "proceed");
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = tls.connect({
      socket: plain,
      servername: this.to,
      rejectUnauthorized: false,
      ...(cert ? { cert: cert.certPem, key: cert.keyPem } : {}),
    });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.#decoder = new TextDecoder();
    this.#attach(secure);
  }

  /** Send db:result with the key made from the stream id; returns the answer. */
  dialbackResult(key: (streamId: string) => string): Promise<Element> {
    this.send(
      `<db:result from='${this.from}' to='${this.to}'>${key(this.streamId ?? "")}</db:result>`,
    );
    return this.element((e) => e.name === "result" && e.attrs.type !== undefined);
  }

  async dialback(key: (streamId: string) => string): Promise<void> {
    const result = await this.dialbackResult(key);
    if (result.attrs.type !== "valid") throw new Error("dialback failed: " + result.toString());
  }

  /** Nothing matching arrives within `ms` (the frame is left for later waits). */
  async nothing(pred: (e: Element) => boolean, ms: number): Promise<void> {
    const found = await this.next((f) => f.kind === "stanza" && pred(f.element), ms)
      .then((f) => f, () => undefined);
    if (found) throw new Error("unexpected " + (found as { element: Element }).element.toString());
  }

  async streamError(ms = WAIT_MS): Promise<string> {
    const e = await this.element((e) => e.name === "stream:error", ms);
    return e.getChildren().find((c) => c.attrs.xmlns === NS.streams && c.name !== "text")?.name ??
      "?";
  }

  close(): void {
    if (!this.#closed) this.send("</stream:stream>");
    this.socket.end();
    this.socket.destroy();
  }
}

/**
 * A scripted remote server that Parley's outgoing streams connect to (in
 * the clear, so the test sees every byte): `script` answers what arrives,
 * given in whole top-level pieces (the stream header, complete elements,
 * the close tag), however TCP split them.
 */
export class FakeS2sServer {
  readonly sockets: net.Socket[] = [];
  /** Everything Parley sent, on every connection. */
  received = "";
  /** What Parley sent on each connection. */
  readonly receivedOn = new Map<net.Socket, string>();
  #waiters: (() => void)[] = [];

  private constructor(
    readonly server: net.Server,
    readonly script: (text: string, socket: net.Socket) => void,
  ) {}

  static async start(
    script: (text: string, socket: net.Socket) => void,
  ): Promise<FakeS2sServer> {
    const fake: FakeS2sServer = new FakeS2sServer(
      net.createServer((s) => fake.#accept(s)),
      script,
    );
    await new Promise<void>((r) => fake.server.listen(0, "127.0.0.1", () => r()));
    return fake;
  }

  /** The `s2s.hosts` route to this server. */
  get route(): string {
    return `127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  #accept(socket: net.Socket): void {
    this.sockets.push(socket);
    this.receivedOn.set(socket, "");
    socket.on("error", () => {});
    const decoder = new TextDecoder();
    // Text not yet given to the script: an element still incomplete at the end of a chunk.
    let pending = "";
    socket.on("data", (d: Uint8Array) => {
      const text = decoder.decode(d, { stream: true });
      this.received += text;
      this.receivedOn.set(socket, this.receivedOn.get(socket) + text);
      pending += text;
      const end = completeUpTo(pending);
      if (end > 0) {
        const whole = pending.slice(0, end);
        pending = pending.slice(end);
        this.script(whole, socket);
      }
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Wait (bounded) until what Parley sent satisfies `pred`. */
  async until(pred: (received: string) => boolean, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error("timed out; received: " + this.received);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

/**
 * How much of `text` is whole top-level pieces: a stream header or close
 * tag, an XML declaration, or an element with all its children. Only tags
 * are followed (quoted attribute values may hold `>`); `<` never appears
 * unescaped in text.
 */
export function completeUpTo(text: string): number {
  let depth = 0;
  let end = 0;
  let i = 0;
  while (true) {
    const open = text.indexOf("<", i);
    if (open < 0) return depth === 0 ? text.length : end;
    let close = -1;
    let quote = "";
    for (let j = open + 1; j < text.length; j++) {
      const c = text[j];
      if (quote) {
        if (c === quote) quote = "";
      } else if (c === "'" || c === '"') quote = c;
      else if (c === ">") {
        close = j;
        break;
      }
    }
    if (close < 0) return end;
    const tag = text.slice(open, close + 1);
    i = close + 1;
    if (tag.startsWith("<?") || /^<\/?stream:stream[\s>]/.test(tag)) {
      // Declarations and the stream's own tags stand alone, outside any element.
      if (depth === 0) end = i;
    } else if (tag.startsWith("</")) {
      depth--;
      if (depth === 0) end = i;
    } else if (tag.endsWith("/>")) {
      if (depth === 0) end = i;
    } else depth++;
  }
}

/** The stream header a fake remote server answers with; `version` null sends none. */
export function fakeHeader(from: string, id: string, version: string | null = "1.0"): string {
  return `<?xml version='1.0'?><stream:stream xmlns='jabber:server' ` +
    `xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' ` +
    `id='${id}' from='${from}'${version === null ? "" : ` version='${version}'`}>`;
}
