/**
 * A small XMPP-over-WebSocket (RFC 7395) client for tests: Deno's
 * WebSocket with the `xmpp` subprotocol, SASL PLAIN and SCRAM-SHA-256,
 * binding, and an inbox of received elements to wait on by predicate.
 * Every wait has a timeout so a broken server fails a test, not hangs it.
 */
import { type Frame, XmlFrameParser } from "../../src/xml/parser.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";
import { NS_FRAMING } from "../../src/stream/websocket/framing.ts";
import { b64 } from "./client.ts";

const WAIT_MS = 5000;

export interface WsClientOptions {
  /** Subprotocols offered (default ["xmpp"]). */
  protocols?: string[];
  /** Extra request headers (Origin…). */
  headers?: Record<string, string>;
}

export class WsTestClient {
  /** Every element received, in order, not yet taken by a wait. */
  readonly inbox: Element[] = [];
  /** Raw text of every message received, in order. */
  readonly messages: string[] = [];
  closed = false;
  closeCode: number | undefined;
  jid: string | undefined;
  features: Element | undefined;
  #waiters: (() => void)[] = [];
  #parser: XmlFrameParser;

  private constructor(readonly ws: WebSocket, readonly domain: string) {
    // Each message is a standalone document: parsed inside a synthetic
    // jabber:client root, so stanzas come out as over TCP (no xmlns).
    this.#parser = new XmlFrameParser((f) => this.#push(f), { maxStanzaSize: 10_000_000 });
    this.#parser.write(`<ws xmlns='${NS.client}'>`);
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") return;
      this.messages.push(ev.data);
      this.#parser.write(ev.data);
    };
    ws.onclose = (ev) => {
      this.closed = true;
      this.closeCode = ev.code;
      this.#wake();
    };
  }

  /** Connect to `url` (ws://127.0.0.1:port/xmpp-websocket); rejects if the upgrade fails. */
  static async connect(
    url: string,
    options: WsClientOptions = {},
    domain = "localhost",
  ): Promise<WsTestClient> {
    const ws = new WebSocket(url, {
      protocols: options.protocols ?? ["xmpp"],
      headers: options.headers,
    } as unknown as string[]);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = (e) => reject(new Error("WebSocket failed: " + (e as ErrorEvent).message));
    });
    ws.onerror = () => {};
    return new WsTestClient(ws, domain);
  }

  #push(f: Frame): void {
    if (f.kind !== "stanza") return;
    this.inbox.push(f.element);
    this.#wake();
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  send(xml: string): void {
    this.ws.send(xml);
  }

  /** Wait for (and take) the first element matching `pred`. */
  async next(pred: (e: Element) => boolean = () => true, ms = WAIT_MS): Promise<Element> {
    const deadline = Date.now() + ms;
    while (true) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.closed) {
        throw new Error(
          `no matching element (${this.closed ? "closed" : "timed out"}); have: ` +
            this.inbox.map((e) => e.toString()).join(" | "),
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

  /** The condition of the stream error the server sent. */
  async streamError(ms = WAIT_MS): Promise<string> {
    const e = await this.next((e) => e.name === "stream:error", ms);
    return e.getChildren().find((c) => c.attrs.xmlns === NS.streams && c.name !== "text")?.name ??
      "?";
  }

  /** The server's `<close/>`. */
  async closeElement(ms = WAIT_MS): Promise<Element> {
    return await this.next((e) => e.name === "close" && e.attrs.xmlns === NS_FRAMING, ms);
  }

  async waitClosed(ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    if (!this.closed) throw new Error("WebSocket still open");
  }

  /** `<open/>`, then the server's `<open/>` and features. */
  async open(to = this.domain): Promise<Element> {
    this.send(`<open xmlns='${NS_FRAMING}' to='${to}' version='1.0' xml:lang='en'/>`);
    await this.next((e) => e.name === "open" && e.attrs.xmlns === NS_FRAMING);
    this.features = await this.next((e) => e.name === "stream:features");
    return this.features;
  }

  mechanisms(): string[] {
    return this.features?.getChild("mechanisms", NS.sasl)?.getChildren("mechanism").map((m) =>
      m.text()
    ) ?? [];
  }

  /** SASL PLAIN or SCRAM-SHA-256; resolves to the success or failure element. */
  async auth(mechanism: "PLAIN" | "SCRAM-SHA-256", user: string, password: string) {
    const result = (e: Element) => e.name === "success" || e.name === "failure";
    if (mechanism === "PLAIN") {
      this.send(
        `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${b64(`\0${user}\0${password}`)}</auth>`,
      );
      return await this.next(result);
    }
    const nonce = crypto.randomUUID().replaceAll("-", "");
    const bare = `n=${user},r=${nonce}`;
    this.send(`<auth xmlns='${NS.sasl}' mechanism='${mechanism}'>${b64("n,," + bare)}</auth>`);
    const ch = await this.next((e) => e.name === "challenge" || e.name === "failure");
    if (ch.name === "failure") return ch;
    const serverFirst = atob(ch.text());
    const f = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
    const salt = Uint8Array.from(atob(f.s), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(password),
      "PBKDF2",
      false,
      ["deriveBits"],
    );
    const salted = new Uint8Array(
      await crypto.subtle.deriveBits(
        { name: "PBKDF2", salt, iterations: +f.i, hash: "SHA-256" },
        key,
        256,
      ),
    );
    const clientKey = await hmac(salted, "Client Key");
    const storedKey = new Uint8Array(
      await crypto.subtle.digest("SHA-256", clientKey as BufferSource),
    );
    const withoutProof = `c=${btoa("n,,")},r=${f.r}`;
    const sig = await hmac(storedKey, `${bare},${serverFirst},${withoutProof}`);
    const proof = clientKey.map((b, i) => b ^ sig[i]);
    this.send(
      `<response xmlns='${NS.sasl}'>${
        b64(`${withoutProof},p=${btoa(String.fromCharCode(...proof))}`)
      }</response>`,
    );
    return await this.next(result);
  }

  async bind(resource?: string): Promise<Element> {
    const inner = resource ? `<resource>${resource}</resource>` : "";
    this.send(
      `<iq xmlns='${NS.client}' type='set' id='bind1'><bind xmlns='${NS.bind}'>${inner}</bind></iq>`,
    );
    const iq = await this.next((e) => e.name === "iq" && e.attrs.id === "bind1");
    if (iq.attrs.type === "result") this.jid = iq.getChild("bind", NS.bind)?.getChildText("jid");
    return iq;
  }

  /** Open → SASL → open → bind → optional initial presence. */
  static async login(
    url: string,
    options: WsClientOptions & {
      user: string;
      password: string;
      mechanism?: "PLAIN" | "SCRAM-SHA-256";
      resource?: string;
      presence?: string | false;
      domain?: string;
    },
  ): Promise<WsTestClient> {
    const c = await WsTestClient.connect(url, options, options.domain);
    await c.open();
    const result = await c.auth(
      options.mechanism ?? "SCRAM-SHA-256",
      options.user,
      options.password,
    );
    if (result.name !== "success") throw new Error("auth failed: " + result.toString());
    await c.open();
    const bound = await c.bind(options.resource);
    if (bound.attrs.type !== "result") throw new Error("bind failed: " + bound.toString());
    if (options.presence !== false) {
      c.send(options.presence ?? `<presence xmlns='${NS.client}'/>`);
    }
    return c;
  }

  /** `<close/>`, then wait for the server's `<close/>` and the end of the WebSocket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.send(`<close xmlns='${NS_FRAMING}'/>`);
    await this.closeElement();
    await this.waitClosed();
  }

  /** Drop the WebSocket without closing the stream. */
  abort(): void {
    if (!this.closed) this.ws.close();
  }
}

async function hmac(key: Uint8Array, msg: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, new TextEncoder().encode(msg)));
}
