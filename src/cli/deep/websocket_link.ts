/**
 * XMPP over WebSocket (RFC 7395) for the deep check: a minimal RFC 6455
 * client over node:net/node:tls, because Deno's WebSocket cannot be told
 * to trust one extra certificate (or none) for a single connection. Text
 * messages only, each one standalone XML; masked frames out, bounded
 * message size in.
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { XmlFrameParser } from "../../xml/parser.ts";
import { type Element, escapeAttr } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { NS_FRAMING } from "../../stream/websocket/framing.ts";
import { encodeBase64 } from "../../util/base64.ts";
import { Inbox, type Link, STEP_MS, withTimeout } from "./link.ts";
import { nodeTlsOptions, type TrustOptions } from "./tls_options.ts";

const MAX_MESSAGE = 1_000_000;
const MAX_HANDSHAKE = 16_384;

export class WebSocketLink implements Link {
  readonly inbox = new Inbox();
  #socket: net.Socket | undefined;
  #buffer: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  #fragments: Uint8Array[] = [];
  #parser: XmlFrameParser;

  constructor(
    readonly name: string,
    readonly url: URL,
    readonly domain: string,
    readonly trust: TrustOptions,
  ) {
    // Each message is parsed inside a synthetic jabber:client root, as the server does.
    this.#parser = new XmlFrameParser((f) => {
      if (f.kind !== "stanza") return;
      const e = f.element;
      if (e.name === "close" && e.attrs.xmlns === NS_FRAMING) {
        this.inbox.end("stream closed by the server");
      } else if (!(e.name === "open" && e.attrs.xmlns === NS_FRAMING)) this.inbox.push(e);
    }, { maxStanzaSize: MAX_MESSAGE });
    this.#parser.write(`<ws xmlns='${NS.client}' xmlns:stream='${NS.stream}'>`);
  }

  async open(): Promise<Element> {
    const secure = this.url.protocol === "wss:";
    const port = Number(this.url.port || (secure ? 443 : 80));
    const host = this.url.hostname.replace(/^\[|\]$/g, ""); // an IPv6 literal without brackets
    const socket = await withTimeout(
      `connect to ${this.url.host}`,
      STEP_MS,
      new Promise<net.Socket>((resolve, reject) => {
        const s = secure
          ? tls.connect({
            host,
            port,
            ...nodeTlsOptions(this.trust, this.domain),
          })
          : net.connect({ host, port });
        s.on("error", () => {}); // reported through the inbox once attached; never unhandled
        s.once(secure ? "secureConnect" : "connect", () => resolve(s));
        s.once("error", reject);
      }),
    );
    this.#socket = socket;
    await withTimeout("WebSocket upgrade", STEP_MS, this.#handshake(socket));
    socket.on("data", (d: Uint8Array) => this.#receive(d));
    socket.on("close", () => this.inbox.end("connection closed"));
    socket.on("error", (e: Error) => this.inbox.end(e.message));
    if (this.#buffer.length > 0) this.#receive(new Uint8Array(0));
    return await this.restart();
  }

  #handshake(socket: net.Socket): Promise<void> {
    const key = encodeBase64(crypto.getRandomValues(new Uint8Array(16)));
    socket.write(
      `GET ${this.url.pathname} HTTP/1.1\r\nHost: ${this.url.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        `Sec-WebSocket-Protocol: xmpp\r\n\r\n`,
    );
    return new Promise((resolve, reject) => {
      let head: Uint8Array<ArrayBuffer> = new Uint8Array(0);
      const onData = (d: Uint8Array) => {
        head = join(head, d);
        const text = new TextDecoder().decode(head);
        const end = text.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > MAX_HANDSHAKE) fail(new Error("oversized upgrade answer"));
          return;
        }
        socket.off("data", onData);
        socket.off("error", fail);
        const status = text.slice(0, text.indexOf("\r\n"));
        if (!/^HTTP\/1\.1 101/.test(status)) return reject(new Error(`upgrade refused: ${status}`));
        if (!/^sec-websocket-protocol:\s*xmpp\s*$/im.test(text.slice(0, end))) {
          return reject(new Error("the server did not accept the xmpp subprotocol"));
        }
        // Frames that came with the answer.
        this.#buffer = head.slice(new TextEncoder().encode(text.slice(0, end + 4)).length);
        resolve();
      };
      const fail = (e: Error) => {
        socket.off("data", onData);
        reject(e);
      };
      socket.on("data", onData);
      socket.once("error", fail);
    });
  }

  /** Reads whole frames off the buffer; bounded by its length. */
  #receive(d: Uint8Array): void {
    this.#buffer = join(this.#buffer, d);
    for (let guard = 0; guard < 10_000; guard++) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const opcode = b[0] & 0x0f;
      let len = b[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = (b[2] << 8) | b[3];
        at = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0));
        at = 10;
      }
      if (len > MAX_MESSAGE) return this.#fail("oversized WebSocket frame");
      if (b.length < at + len) return;
      const payload = b.slice(at, at + len);
      this.#buffer = b.slice(at + len);
      if (opcode === 0x8) return this.inbox.end("WebSocket closed by the server");
      if (opcode === 0x9) this.#frame(0xa, payload);
      if (opcode === 0x1 || opcode === 0x0) {
        this.#fragments.push(payload);
        if (this.#fragments.reduce((n, f) => n + f.length, 0) > MAX_MESSAGE) {
          return this.#fail("oversized WebSocket message");
        }
        if (fin) {
          const message = this.#fragments.reduce(join, new Uint8Array(0));
          this.#fragments = [];
          this.#parser.write(new TextDecoder().decode(message));
        }
      }
    }
  }

  #fail(reason: string): void {
    this.inbox.end(reason);
    this.#socket?.destroy();
  }

  #frame(opcode: number, payload: Uint8Array): Promise<void> {
    const s = this.#socket;
    if (!s || s.destroyed) return Promise.reject(new Error("not connected"));
    const len = payload.length;
    const header = len < 126
      ? [0x80 | opcode, 0x80 | len]
      : len < 65536
      ? [0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]
      : [
        0x80 | opcode,
        0x80 | 127,
        0,
        0,
        0,
        0,
        (len >>> 24) & 0xff,
        (len >> 16) & 0xff,
        (len >> 8) & 0xff,
        len & 0xff,
      ];
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const masked = payload.map((b, i) => b ^ mask[i % 4]);
    const frame = join(join(new Uint8Array(header), mask), masked);
    return new Promise((resolve, reject) => s.write(frame, (e) => e ? reject(e) : resolve()));
  }

  send(xml: string): Promise<void> {
    return this.#frame(0x1, new TextEncoder().encode(xml));
  }

  async restart(): Promise<Element> {
    await this.send(`<open xmlns='${NS_FRAMING}' to='${escapeAttr(this.domain)}' version='1.0'/>`);
    return await this.next((e) => e.name === "stream:features" || e.name === "features");
  }

  next(pred: (e: Element) => boolean, ms?: number): Promise<Element> {
    return this.inbox.next(pred, ms);
  }

  async close(): Promise<void> {
    const s = this.#socket;
    if (!s || s.destroyed) return;
    try {
      await withTimeout("close", 2000, this.send(`<close xmlns='${NS_FRAMING}'/>`));
      await withTimeout("close", 2000, this.#frame(0x8, new Uint8Array([0x03, 0xe8])));
    } catch { /* closing anyway */ }
    s.destroy();
  }
}

function join(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
