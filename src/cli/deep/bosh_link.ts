/**
 * XMPP over BOSH (XEP-0124/XEP-0206) for the deep check: one request kept
 * waiting at the server for what it pushes, stanzas posted beside it.
 * node:http(s), so the same trust options as the TCP links apply.
 */
import * as http from "node:http";
import * as https from "node:https";
import { XmlFrameParser } from "../../xml/parser.ts";
import { type Element, escapeAttr } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { NS_HTTPBIND, NS_XBOSH } from "../../http/bosh/body.ts";
import { Inbox, type Link, STEP_MS } from "./link.ts";
import { nodeTlsOptions, type TrustOptions } from "./tls_options.ts";

/** How long the server may hold our poll: short, so closing never waits long. */
const WAIT_SECONDS = 4;
const MAX_BODY = 1_000_000;

export class BoshLink implements Link {
  readonly inbox = new Inbox();
  #rid = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  #sid = "";
  #polling = false;
  #stopped = false;

  constructor(
    readonly name: string,
    readonly url: URL,
    readonly domain: string,
    readonly trust: TrustOptions,
  ) {}

  async open(): Promise<Element> {
    const attrs = `content='text/xml; charset=utf-8' hold='1' rid='${this.#rid++}' ` +
      `to='${escapeAttr(this.domain)}' ver='1.11' wait='${WAIT_SECONDS}' xml:lang='en' ` +
      `xmpp:version='1.0' xmlns='${NS_HTTPBIND}' xmlns:xmpp='${NS_XBOSH}'`;
    const body = await this.#post(`<body ${attrs}/>`);
    this.#sid = body.attrs.sid ?? "";
    if (!this.#sid) throw new Error("no BOSH session id in the answer");
    this.#take(body);
    this.#poll();
    return await this.#features();
  }

  #features(): Promise<Element> {
    return this.next((e) => e.name === "stream:features" || e.name === "features");
  }

  #bodyTag(extra = ""): string {
    return `<body rid='${this.#rid++}' sid='${
      escapeAttr(this.#sid)
    }' xmlns='${NS_HTTPBIND}'${extra}`;
  }

  async send(xml: string): Promise<void> {
    this.#take(await this.#post(`${this.#bodyTag()}>${xml}</body>`));
  }

  async restart(): Promise<Element> {
    this.#take(
      await this.#post(
        `${
          this.#bodyTag(
            ` to='${escapeAttr(this.domain)}' xml:lang='en' xmpp:restart='true' ` +
              `xmlns:xmpp='${NS_XBOSH}'`,
          )
        }/>`,
      ),
    );
    return await this.#features();
  }

  /** Keeps one empty request at the server, so pushed stanzas have a way back. */
  #poll(): void {
    if (this.#polling) return;
    this.#polling = true;
    (async () => {
      // Bounded by the link's life: each pass is one held request (≤ wait seconds).
      while (!this.#stopped && !this.inbox.closed) {
        try {
          this.#take(await this.#post(`${this.#bodyTag()}/>`));
        } catch (e) {
          this.inbox.end((e as Error).message);
        }
      }
      this.#polling = false;
    })();
  }

  #take(body: Element): void {
    for (const c of body.getChildren()) this.inbox.push(c);
    if (body.attrs.type === "terminate") {
      this.inbox.end(`BOSH session terminated (${body.attrs.condition ?? "no condition"})`);
    }
  }

  #post(xml: string): Promise<Element> {
    const secure = this.url.protocol === "https:";
    const mod = secure ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(this.url, {
        method: "POST",
        headers: { "content-type": "text/xml; charset=utf-8" },
        timeout: (WAIT_SECONDS * 1000) + STEP_MS,
        ...(secure ? nodeTlsOptions(this.trust, this.domain) : {}),
      }, (res) => {
        const chunks: Uint8Array[] = [];
        let size = 0;
        res.on("data", (d: Uint8Array) => {
          size += d.length;
          if (size > MAX_BODY) req.destroy(new Error("BOSH answer too large"));
          else chunks.push(d);
        });
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
          try {
            resolve(parseBody(new TextDecoder().decode(concat(chunks))));
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error("BOSH request timed out")));
      req.on("error", reject);
      req.end(xml);
    });
  }

  next(pred: (e: Element) => boolean, ms?: number): Promise<Element> {
    return this.inbox.next(pred, ms);
  }

  async close(): Promise<void> {
    if (this.#stopped || !this.#sid) return;
    this.#stopped = true;
    try {
      await this.#post(
        `${
          this.#bodyTag(" type='terminate'")
        }><presence type='unavailable' xmlns='${NS.client}'/></body>`,
      );
    } catch { /* gone already */ }
    this.inbox.end("closed");
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** The `<body/>` of an answer, its children parsed as stanzas. */
function parseBody(text: string): Element {
  let body: Element | undefined;
  let problem: string | undefined;
  const parser = new XmlFrameParser((f) => {
    if (f.kind === "stanza") body ??= f.element;
    else if (f.kind === "error") problem = f.text;
  }, { maxStanzaSize: MAX_BODY });
  parser.write(`<wrap xmlns='${NS.client}' xmlns:stream='${NS.stream}'>`);
  parser.write(text.replace(/^<\?xml[^>]*\?>/, ""));
  if (!body) throw new Error(`unparsable BOSH answer${problem ? `: ${problem}` : ""}`);
  return body;
}
