/**
 * XMPP over TCP (RFC 6120): STARTTLS on the c2s port, or TLS from the
 * first byte on the direct TLS port (XEP-0368). node:tls, because it can
 * take an extra CA or skip verification per connection, which Deno.connectTls
 * cannot do without a process-wide flag.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { XmlFrameParser } from "../../xml/parser.ts";
import type { Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { Inbox, type Link, STEP_MS, withTimeout } from "./link.ts";
import { nodeTlsOptions, type TrustOptions } from "./tls_options.ts";

export class TcpLink implements Link {
  readonly inbox = new Inbox();
  #socket: net.Socket | undefined;
  #parser: XmlFrameParser;
  #decoder = new TextDecoder();

  constructor(
    readonly name: string,
    readonly address: string,
    readonly port: number,
    readonly domain: string,
    readonly directTls: boolean,
    readonly trust: TrustOptions,
  ) {
    this.#parser = this.#newParser();
  }

  #newParser(): XmlFrameParser {
    return new XmlFrameParser((f) => {
      if (f.kind === "stanza") this.inbox.push(f.element);
      else if (f.kind === "close") this.inbox.end("stream closed by the server");
      else if (f.kind === "error") this.inbox.end(`XML error: ${f.text}`);
    }, { maxStanzaSize: 1_000_000 });
  }

  #attach(socket: net.Socket): void {
    this.#socket = socket;
    socket.on("data", (d: Uint8Array) => {
      this.#parser.write(this.#decoder.decode(d, { stream: true }));
    });
    socket.on("close", () => this.inbox.end("connection closed"));
    socket.on("error", (e: Error) => this.inbox.end(e.message));
  }

  #connect(): Promise<net.Socket> {
    return withTimeout(
      `connect to ${this.address}:${this.port}`,
      STEP_MS,
      new Promise((resolve, reject) => {
        const s = this.directTls
          ? tls.connect({
            host: this.address,
            port: this.port,
            ALPNProtocols: ["xmpp-client"],
            ...nodeTlsOptions(this.trust, this.domain),
          })
          : net.connect({ host: this.address, port: this.port });
        s.on("error", () => {}); // reported through the inbox once attached; never unhandled
        s.once(this.directTls ? "secureConnect" : "connect", () => resolve(s));
        s.once("error", reject);
      }),
    );
  }

  async open(): Promise<Element> {
    this.#attach(await this.#connect());
    let features = await this.#header();
    if (!this.directTls) {
      if (!features.getChild("starttls", NS.tls)) throw new Error("STARTTLS not offered");
      await this.send(`<starttls xmlns='${NS.tls}'/>`);
      const answer = await this.next((e) => e.name === "proceed" || e.name === "failure");
      if (answer.name !== "proceed") throw new Error("STARTTLS refused");
      await this.#upgrade();
      features = await this.#header();
    }
    return features;
  }

  async #upgrade(): Promise<void> {
    const plain = this.#socket!;
    plain.removeAllListeners("data");
    plain.removeAllListeners("close");
    plain.removeAllListeners("error");
    // The TLS socket reports the plain one's errors; this only keeps a late one from being unhandled.
    plain.on("error", () => {});
    const secure = await withTimeout(
      "TLS handshake",
      STEP_MS,
      new Promise<tls.TLSSocket>((resolve, reject) => {
        const s = tls.connect({ socket: plain, ...nodeTlsOptions(this.trust, this.domain) });
        s.once("secureConnect", () => resolve(s));
        s.once("error", reject);
      }),
    );
    this.#parser = this.#newParser();
    this.#attach(secure);
  }

  /** A fresh stream header; resolves to its features. */
  async #header(): Promise<Element> {
    this.#parser = this.#newParser();
    await this.send(
      `<?xml version='1.0'?><stream:stream xmlns='${NS.client}' xmlns:stream='${NS.stream}' ` +
        `to='${this.domain}' version='1.0'>`,
    );
    return await this.next((e) => e.name === "stream:features" || e.name === "features");
  }

  restart(): Promise<Element> {
    return this.#header();
  }

  send(xml: string): Promise<void> {
    const s = this.#socket;
    if (!s || s.destroyed) return Promise.reject(new Error("not connected"));
    return new Promise((resolve, reject) => s.write(xml, (e) => e ? reject(e) : resolve()));
  }

  next(pred: (e: Element) => boolean, ms?: number): Promise<Element> {
    return this.inbox.next(pred, ms);
  }

  async close(): Promise<void> {
    const s = this.#socket;
    if (!s || s.destroyed) return;
    try {
      await withTimeout("close", 2000, this.send("</stream:stream>"));
    } catch { /* closing anyway */ }
    s.destroy();
  }
}
