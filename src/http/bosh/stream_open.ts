/**
 * XEP-0206 §4–5: the session creation request and each restart
 * (`xmpp:restart='true'`) stand for a TCP stream header. They become the
 * `open` frame the stream core checks as one (stream:stream in the
 * streams namespace, jabber:client, `to`, `version`, `xml:lang`); a
 * restart that leaves out `to` or `xml:lang` keeps the creation's.
 */
import { NS } from "../../xml/namespaces.ts";
import type { Frame } from "../../xml/parser.ts";
import type { BoshBody } from "./body.ts";

export class StreamOpens {
  #to: string | undefined;
  #version: string | undefined;
  #lang: string | undefined;

  frame(body: BoshBody, creation: boolean): Frame {
    const { attrs, xmpp } = body;
    // Only the creation request says which XMPP version the client speaks.
    if (creation) this.#version = xmpp.version;
    if (attrs.to !== undefined) this.#to = attrs.to;
    if (attrs["xml:lang"] !== undefined) this.#lang = attrs["xml:lang"];
    const open: Record<string, string> = { xmlns: NS.client, "xmlns:stream": NS.stream };
    if (this.#to !== undefined) open.to = this.#to;
    if (this.#version !== undefined) open.version = this.#version;
    if (this.#lang !== undefined) open["xml:lang"] = this.#lang;
    if (attrs.from !== undefined) open.from = attrs.from;
    return { kind: "open", name: "stream:stream", ns: NS.stream, attrs: open };
  }
}
