/**
 * A small XMPP client for integration tests: real sockets, STARTTLS,
 * direct TLS, SCRAM and PLAIN, binding, and a frame inbox to wait on.
 * Every wait has a timeout so a broken server fails a test, not hangs it.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";

export interface ClientOptions {
  port: number;
  domain?: string;
  address?: string;
  /** Local address to connect from, e.g. 127.0.0.2 to act as a second client host. */
  localAddress?: string;
  directTls?: boolean;
  /** SNI name for TLS (default: the domain). */
  servername?: string;
  /** Override the `to` of the stream header. */
  streamTo?: string;
}

const WAIT_MS = 5000;

export class TestClient {
  socket!: net.Socket;
  readonly frames: Frame[] = [];
  #waiters: (() => void)[] = [];
  #parser: XmlFrameParser;
  #decoder = new TextDecoder();
  closed = false;
  jid: string | undefined;
  streamHeader: Record<string, string> | undefined;
  features: Element | undefined;
  readonly domain: string;

  private constructor(readonly options: ClientOptions) {
    this.domain = options.domain ?? "localhost";
    this.#parser = new XmlFrameParser((f) => this.#push(f), { maxStanzaSize: 10_000_000 });
  }

  static async connect(options: ClientOptions): Promise<TestClient> {
    const c = new TestClient(options);
    const host = options.address ?? "127.0.0.1";
    const tcp = () => net.connect({ host, port: options.port, localAddress: options.localAddress });
    const socket = options.directTls
      ? tls.connect({
        // tls.connect has no localAddress: bind through our own TCP socket then.
        ...(options.localAddress ? { socket: tcp() } : { host, port: options.port }),
        servername: options.servername ?? c.domain,
        rejectUnauthorized: false,
        ALPNProtocols: ["xmpp-client"],
      })
      : tcp();
    await new Promise<void>((resolve, reject) => {
      socket.once(options.directTls ? "secureConnect" : "connect", () => resolve());
      socket.once("error", reject);
    });
    c.#attach(socket);
    return c;
  }

  #attach(socket: net.Socket): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on(
      "data",
      (d: Uint8Array) => this.#parser.write(this.#decoder.decode(d, { stream: true })),
    );
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
    socket.on("error", () => {});
  }

  /**
   * Sees every frame first; a frame it returns true for is consumed and
   * never queued (long-running load tools that must not keep frames).
   */
  tap: ((f: Frame) => boolean) | undefined;

  /**
   * Parse what follows as the server's next stream: from `tap`, on the
   * frame after which the server restarts (its new header may follow in
   * the same read).
   */
  restartParser(): void {
    this.#parser.reset();
  }

  #push(f: Frame): void {
    if (this.tap?.(f)) return;
    this.frames.push(f);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  send(xml: string | Element): void {
    this.socket.write(typeof xml === "string" ? xml : xml.toString());
  }

  /** Wait for (and remove) the first frame matching `pred`. */
  async next(pred: (f: Frame) => boolean = () => true, ms = WAIT_MS): Promise<Frame> {
    const deadline = Date.now() + ms;
    while (true) {
      const i = this.frames.findIndex(pred);
      if (i >= 0) return this.frames.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || (this.closed && this.frames.length === 0)) {
        throw new Error(
          `timed out waiting for a frame; have: ${this.frames.map(show).join(" | ")}`,
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

  /** The next stanza element matching `pred`. */
  async stanza(pred: (e: Element) => boolean = () => true, ms = WAIT_MS): Promise<Element> {
    const f = await this.next((f) => f.kind === "stanza" && pred(f.element), ms);
    return (f as { element: Element }).element;
  }

  /** The stream error condition the server sent (then it closes). */
  async streamError(ms = WAIT_MS): Promise<string> {
    const e = await this.stanza((e) => e.name === "stream:error", ms);
    const cond = e.getChildren().find((c) => c.attrs.xmlns === NS.streams && c.name !== "text");
    return cond?.name ?? "?";
  }

  async waitClosed(ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.closed) throw new Error("connection still open");
  }

  /** Nothing arrives for `ms` (matching `pred`). */
  async nothing(pred: (e: Element) => boolean = () => true, ms = 200): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    const f = this.frames.find((f) => f.kind === "stanza" && pred(f.element));
    if (f) throw new Error("unexpected frame: " + show(f));
  }

  /** Send a stream header (a given one, verbatim) and read the features. */
  async open(to = this.options.streamTo ?? this.domain, header?: string): Promise<Element> {
    this.#parser.reset();
    this.send(
      header ?? `<?xml version='1.0'?><stream:stream xmlns='jabber:client' ` +
          `xmlns:stream='http://etherx.jabber.org/streams' to='${to}' version='1.0' xml:lang='en'>`,
    );
    const opened = await this.next((f) => f.kind === "open");
    this.streamHeader = (opened as { attrs: Record<string, string> }).attrs;
    this.features = await this.stanza((e) => e.name === "stream:features");
    return this.features;
  }

  /** STARTTLS; `injected` is sent in the same plaintext write, right after `<starttls/>`. */
  async starttls(injected: string | Uint8Array = ""): Promise<void> {
    const request = new TextEncoder().encode(`<starttls xmlns='${NS.tls}'/>`);
    const extra = typeof injected === "string" ? new TextEncoder().encode(injected) : injected;
    // One write: the injected bytes travel in the same segment as the request.
    const bytes = new Uint8Array(request.length + extra.length);
    bytes.set(request);
    bytes.set(extra, request.length);
    this.socket.write(bytes);
    await this.stanza((e) => e.name === "proceed");
    const plain = this.socket;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    const secure = tls.connect({
      socket: plain,
      servername: this.options.servername ?? this.domain,
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve, reject) => {
      secure.once("secureConnect", () => resolve());
      secure.once("error", reject);
    });
    this.#decoder = new TextDecoder();
    this.#attach(secure);
  }

  mechanisms(): string[] {
    return this.features?.getChild("mechanisms", NS.sasl)?.getChildren("mechanism").map((m) =>
      m.text()
    ) ?? [];
  }

  /** Authenticate; resolves to the success or failure element. */
  async auth(
    mechanism: string,
    user: string,
    password: string,
    gs2Flag?: string,
  ): Promise<Element> {
    if (mechanism === "PLAIN") {
      this.send(
        `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${b64(`\0${user}\0${password}`)}</auth>`,
      );
      return await this.stanza((e) => e.name === "success" || e.name === "failure");
    }
    const hash = mechanism.startsWith("SCRAM-SHA-256") ? "SHA-256" : "SHA-1";
    const nonce = crypto.randomUUID().replaceAll("-", "");
    const bare = `n=${user},r=${nonce}`;
    const plus = mechanism.endsWith("-PLUS");
    const gs2 = (gs2Flag ?? (plus ? "p=tls-server-end-point" : "n")) + ",,";
    this.send(`<auth xmlns='${NS.sasl}' mechanism='${mechanism}'>${b64(gs2 + bare)}</auth>`);
    const ch = await this.stanza((e) => e.name === "challenge" || e.name === "failure");
    if (ch.name === "failure") return ch;
    const serverFirst = unb64(ch.text());
    const f = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
    const salted = await pbkdf2(
      password,
      Uint8Array.from(atob(f.s), (c) => c.charCodeAt(0)),
      +f.i,
      hash,
    );
    const clientKey = await hmac(salted, "Client Key", hash);
    const storedKey = new Uint8Array(await crypto.subtle.digest(hash, clientKey as BufferSource));
    let cbind = new TextEncoder().encode(gs2);
    if (plus) {
      // tls-server-end-point: SHA-256 of the certificate the server presented.
      const der = (this.socket as tls.TLSSocket).getPeerCertificate().raw;
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der as BufferSource));
      cbind = new Uint8Array([...cbind, ...digest]);
    }
    const withoutProof = `c=${btoa(String.fromCharCode(...cbind))},r=${f.r}`;
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const sig = await hmac(storedKey, authMessage, hash);
    const proof = clientKey.map((b, i) => b ^ sig[i]);
    this.send(
      `<response xmlns='${NS.sasl}'>${
        b64(`${withoutProof},p=${btoa(String.fromCharCode(...proof))}`)
      }</response>`,
    );
    return await this.stanza((e) => e.name === "success" || e.name === "failure");
  }

  async bind(resource?: string): Promise<Element> {
    const inner = resource ? `<resource>${resource}</resource>` : "";
    this.send(`<iq type='set' id='bind1'><bind xmlns='${NS.bind}'>${inner}</bind></iq>`);
    const iq = await this.stanza((e) => e.name === "iq" && e.attrs.id === "bind1");
    if (iq.attrs.type === "result") {
      this.jid = iq.getChild("bind", NS.bind)?.getChildText("jid");
    }
    return iq;
  }

  /**
   * STARTTLS (unless direct TLS) → SASL → restart: authenticated, not
   * bound (stream management resumes here instead of binding).
   */
  static async authenticate(
    options: ClientOptions & { user: string; password: string; mechanism?: string },
  ): Promise<TestClient> {
    const c = await TestClient.connect(options);
    await c.open();
    if (!options.directTls) {
      await c.starttls();
      await c.open();
    }
    const result = await c.auth(
      options.mechanism ?? "SCRAM-SHA-256",
      options.user,
      options.password,
    );
    if (result.name !== "success") throw new Error("auth failed: " + result.toString());
    await c.open();
    return c;
  }

  /** STARTTLS (unless direct TLS) → SASL → restart → bind → optional presence. */
  static async login(
    options: ClientOptions & {
      user: string;
      password: string;
      mechanism?: string;
      resource?: string;
      presence?: string | false;
    },
  ): Promise<TestClient> {
    const c = await TestClient.authenticate(options);
    const bound = await c.bind(options.resource);
    if (bound.attrs.type !== "result") throw new Error("bind failed: " + bound.toString());
    if (options.presence !== false) c.send(options.presence ?? "<presence/>");
    return c;
  }

  /**
   * Stop reading the socket, as a client that hangs would: the server's
   * output backs up in the kernel. A TLS socket's pause() alone keeps
   * reading underneath on Deno (see src/net/connection.ts), so the TCP
   * handle is stopped too.
   */
  stopReading(): void {
    this.#reading(false);
  }

  resumeReading(): void {
    this.#reading(true);
  }

  #reading(on: boolean): void {
    if (on) this.socket.resume();
    else this.socket.pause();
    const tcp = (this.socket as unknown as {
      _handle?: { _nativeTcpHandle?: { readStart(): number; readStop(): number } };
    })._handle?._nativeTcpHandle;
    if (tcp) on ? tcp.readStart() : tcp.readStop();
  }

  close(): void {
    if (!this.closed) this.send("</stream:stream>");
    this.socket.end();
    this.socket.destroy();
  }
}

function show(f: Frame): string {
  return f.kind === "stanza"
    ? f.element.toString()
    : f.kind === "error"
    ? `error:${f.condition}`
    : f.kind;
}

export function b64(s: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(s)));
}

function unb64(s: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
}

async function pbkdf2(password: string, salt: Uint8Array, iterations: number, hash: string) {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(password),
    "PBKDF2",
    false,
    [
      "deriveBits",
    ],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", salt: salt as BufferSource, iterations, hash },
    key,
    hash === "SHA-1" ? 160 : 256,
  );
  return new Uint8Array(bits);
}

async function hmac(key: Uint8Array, msg: string, hash: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash },
    false,
    [
      "sign",
    ],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(msg)));
}

/** Send `xml`, an iq whose id is `id`, and wait for the iq answering it. */
export async function iq(c: TestClient, id: string, xml: string): Promise<Element> {
  c.send(xml);
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}

/** The RFC 6120 §8.3.3 condition of an error reply, if it is one. */
export function errorCondition(reply: Element): string | undefined {
  return reply.getChild("error")?.getChildren().find((c) => c.attrs.xmlns === NS.stanzas)?.name;
}

/** The features in the server's disco#info (XEP-0030), asked by `c`. */
export async function hostFeatures(c: TestClient, domain = c.domain): Promise<string[]> {
  const id = "features-" + crypto.randomUUID().slice(0, 8);
  const info = await iq(
    c,
    id,
    `<iq type='get' id='${id}' to='${domain}'><query xmlns='${NS.discoInfo}'/></iq>`,
  );
  return info.getChild("query", NS.discoInfo)?.getChildren("feature").map((f) => f.attrs.var) ??
    [];
}
