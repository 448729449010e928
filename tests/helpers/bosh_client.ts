/**
 * A small BOSH (XEP-0124/XEP-0206) client for integration tests, over
 * fetch: session creation, SASL PLAIN, restart, bind, a background poll
 * that keeps one request held, and an inbox of received elements. Every
 * wait has a timeout so a broken server fails a test, not hangs it.
 * `startBoshServer` starts a test server, whose HTTP listener serves BOSH.
 */
import { XmlFrameParser } from "../../src/xml/parser.ts";
import type { Element } from "../../src/xml/element.ts";
import { NS } from "../../src/xml/namespaces.ts";
import type { BoshHandler } from "../../src/http/bosh/handler.ts";
import { BOSH_PATH } from "../../src/http/host_meta.ts";
import { NS_HTTPBIND, NS_XBOSH } from "../../src/http/bosh/body.ts";
import { startTestServer, type TestServer } from "./server.ts";
import { b64 } from "./client.ts";

const WAIT_MS = 5000;

export interface BoshServer {
  server: TestServer;
  handler: BoshHandler;
  url: string;
  stop(): Promise<void>;
}

/** A test server with BOSH at http://127.0.0.1:<port>/http-bind (its plain HTTP listener). */
export async function startBoshServer(
  overrides: Record<string, unknown> = {},
): Promise<BoshServer> {
  const server = await startTestServer(overrides);
  return {
    server,
    handler: server.xmppRoutes.bosh!,
    url: `http://127.0.0.1:${server.ports.http}${BOSH_PATH}`,
    stop: () => server.stop(),
  };
}

/** Run `fn` against a fresh BOSH test server, stopped afterwards whatever happens. */
export async function withBosh(
  overrides: Record<string, unknown>,
  fn: (s: BoshServer) => Promise<void>,
): Promise<void> {
  const s = await startBoshServer(overrides);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

/** A parsed response: the `<body/>` attributes and its children. */
export interface BoshReply {
  status: number;
  headers: Headers;
  text: string;
  attrs: Record<string, string>;
  children: Element[];
}

export function parseReply(status: number, headers: Headers, text: string): BoshReply {
  let attrs: Record<string, string> = {};
  const children: Element[] = [];
  if (status === 200) {
    const parser = new XmlFrameParser((f) => {
      if (f.kind === "open") attrs = f.attrs;
      else if (f.kind === "stanza") children.push(f.element);
      else if (f.kind === "error") throw new Error("bad reply: " + f.text + ": " + text);
    }, { maxStanzaSize: 10_000_000 });
    parser.write(text);
  }
  return { status, headers, text, attrs, children };
}

/** POST one body (raw XML); resolves with the parsed answer. */
export async function postBody(
  url: string,
  xml: string,
  headers: Record<string, string> = {},
): Promise<BoshReply> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "text/xml; charset=utf-8", ...headers },
    body: xml,
  });
  return parseReply(res.status, res.headers, await res.text());
}

export class BoshClient {
  rid: number;
  sid = "";
  jid: string | undefined;
  creation: BoshReply | undefined;
  readonly inbox: Element[] = [];
  #waiters: (() => void)[] = [];
  #polling = false;
  #poll: Promise<void> | undefined;
  /** Extra HTTP headers on every request (e.g. `origin`). */
  readonly headers: Record<string, string> = {};
  /** Set once a response said type='terminate'. */
  terminated: BoshReply | undefined;

  constructor(readonly url: string, readonly domain = "localhost") {
    // Random start, well below 2^53 so it never wraps (XEP-0124 §14.1).
    this.rid = 1_000_000 + Math.floor(Math.random() * 1_000_000_000);
  }

  /** The session creation request; the answer's features land in the inbox. */
  async create(extra: Record<string, string> = {}): Promise<BoshReply> {
    const attrs = {
      content: "text/xml; charset=utf-8",
      hold: "1",
      rid: String(this.rid++),
      to: this.domain,
      ver: "1.11",
      wait: "60",
      "xml:lang": "en",
      "xmpp:version": "1.0",
      xmlns: NS_HTTPBIND,
      "xmlns:xmpp": NS_XBOSH,
      ...extra,
    };
    const reply = await postBody(this.url, bodyTag(attrs, ""), this.headers);
    this.creation = reply;
    this.sid = reply.attrs.sid ?? "";
    this.#receive(reply);
    return reply;
  }

  /** The XML of a body for this session with the next rid (or `rid`). */
  body(payload = "", extra: Record<string, string> = {}, rid = this.rid++): string {
    return bodyTag({ rid: String(rid), sid: this.sid, xmlns: NS_HTTPBIND, ...extra }, payload);
  }

  /** POST a body (next rid unless `rid` is given); its answer's children go to the inbox. */
  async request(
    payload = "",
    extra: Record<string, string> = {},
    rid?: number,
  ): Promise<BoshReply> {
    const reply = await postBody(this.url, this.body(payload, extra, rid), this.headers);
    this.#receive(reply);
    return reply;
  }

  #receive(reply: BoshReply): void {
    this.inbox.push(...reply.children);
    if (reply.attrs.type === "terminate") this.terminated = reply;
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  /** The first inbox element matching `pred`, taken out of the inbox. */
  async stanza(pred: (e: Element) => boolean = () => true, ms = WAIT_MS): Promise<Element> {
    const deadline = Date.now() + ms;
    for (;;) {
      const i = this.inbox.findIndex(pred);
      if (i >= 0) return this.inbox.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0 || this.terminated) {
        throw new Error("no matching element; inbox: " + this.inbox.map(String).join(" "));
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
    }
  }

  /** Keep one request held (as a real client does) until `stopPolling` or termination. */
  startPolling(): void {
    if (this.#polling) return;
    this.#polling = true;
    this.#poll = (async () => {
      while (this.#polling && !this.terminated) await this.request();
    })();
  }

  /** Stop sending poll requests; resolves once the last one is answered. */
  async stopPolling(): Promise<void> {
    this.#polling = false;
    await this.#poll;
  }

  /** SASL PLAIN, restart, bind, optional initial presence. */
  async login(user: string, password: string, resource?: string, presence = true): Promise<void> {
    if (!this.creation) await this.create();
    await this.stanza((e) => e.name === "stream:features");
    const auth = `<auth xmlns='${NS.sasl}' mechanism='PLAIN'>${
      b64("\0" + user + "\0" + password)
    }</auth>`;
    await this.request(auth);
    const result = await this.stanza((e) => e.name === "success" || e.name === "failure");
    if (result.name !== "success") throw new Error("auth failed: " + result);
    await this.request("", {
      to: this.domain,
      "xml:lang": "en",
      "xmpp:restart": "true",
      "xmlns:xmpp": NS_XBOSH,
    });
    await this.stanza((e) => e.name === "stream:features");
    const inner = resource ? `<resource>${resource}</resource>` : "";
    await this.request(
      `<iq xmlns='jabber:client' type='set' id='bind1'><bind xmlns='${NS.bind}'>${inner}</bind></iq>`,
    );
    const bound = await this.stanza((e) => e.name === "iq" && e.attrs.id === "bind1");
    if (bound.attrs.type !== "result") throw new Error("bind failed: " + bound);
    this.jid = bound.getChild("bind", NS.bind)?.getChildText("jid");
    this.startPolling();
    if (presence) this.send("<presence xmlns='jabber:client'/>");
  }

  #sending = new Set<Promise<unknown>>();

  /**
   * POST `payload` without waiting for the answer (held until there is
   * output, as with a real client); its children reach the inbox.
   * `terminate` waits for every such request.
   */
  send(payload: string): void {
    const p = this.request(payload).catch(() => {});
    this.#sending.add(p);
    p.finally(() => this.#sending.delete(p));
  }

  /** Every request sent so far answered. */
  async settled(): Promise<void> {
    await this.#poll;
    await Promise.all([...this.#sending]);
  }

  /** `<body type='terminate'/>` (with `payload`); stops polling. */
  async terminate(payload = ""): Promise<BoshReply> {
    this.#polling = false;
    const reply = await this.request(payload, { type: "terminate" });
    await this.settled();
    return reply;
  }
}

function bodyTag(attrs: Record<string, string>, payload: string): string {
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}='${v.replace(/'/g, "&apos;")}'`).join("");
  return payload === "" ? `<body${a}/>` : `<body${a}>${payload}</body>`;
}
