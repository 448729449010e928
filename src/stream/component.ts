/**
 * The external component stream (XEP-0114, `jabber:component:accept`):
 * bytes → FrameInput → this handler. The component opens a stream to its
 * configured domain, proves the shared secret with `<handshake>` =
 * hex SHA-1(stream id + secret), and then exchanges stanzas for its
 * domain and every subdomain of it.
 *
 * Choices XEP-0114 leaves open (Prosody's, where it made one):
 * - A second stream for a component that is already connected is refused
 *   with `conflict` after its handshake checks out; the live one stays, so
 *   a restarting component cannot be cut off by a stale twin.
 * - A stanza without `from` is stamped with the component's domain; a
 *   `from` outside the component's domain (or unparseable) is a
 *   spoofing attempt: `invalid-from` ends the stream.
 * - A stanza without `to` (or with a malformed one) is bounced to the
 *   component (`bad-request` / `jid-malformed`); the stream stays.
 * - No handshake within component.authTimeoutSeconds: `connection-timeout`.
 * - Its limits (stanza size and depth, read rate, output) are `component.*`.
 */
import { InFlight, MAX_STANZAS_IN_FLIGHT } from "./in_flight.ts";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Connection } from "../net/connection.ts";
import type { Config } from "../config/schema.ts";
import { el, type Element, openTag, serialize } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import type { Frame } from "../xml/parser.ts";
import { FrameInput } from "./frame_input.ts";
import { checkStreamRoot } from "./stream_root.ts";
import { componentLimits, parserLimits } from "./limits.ts";
import { parseJid, prepDomain } from "../jid.ts";
import { errorReply, StanzaError, StreamError } from "../core/errors.ts";
import type { Router } from "../core/router.ts";
import type { ComponentLink, ComponentRegistry } from "../core/components.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { logger } from "../log.ts";
import { randomId } from "../util/random.ts";
import { BrokenStreamLog } from "./broken_streams.ts";

const log = logger("component");
/**
 * Refused handshakes, logged once per (domain, address) per minute: a
 * peer can reconnect and fail at will.
 */
const refusedHandshakes = new OncePerWindow();
const brokenStreams = new BrokenStreamLog(log);

export const NS_COMPONENT = "jabber:component:accept";

export interface ComponentServices {
  config: Config;
  router: Router;
  components: ComponentRegistry;
}

export function handleComponentConnection(conn: Connection, services: ComponentServices): void {
  new ComponentStream(conn, services).start();
}

/** XEP-0114 §3: the handshake is the lowercase hex SHA-1 of stream id + secret. */
function handshakeDigest(streamId: string, secret: string): string {
  return createHash("sha1").update(streamId + secret, "utf8").digest("hex");
}

class ComponentStream implements ComponentLink {
  domain = "";
  #id = randomId();
  /** Links carry many users' traffic: a larger share of stanzas in the works. */
  #inFlight = new InFlight(4 * MAX_STANZAS_IN_FLIGHT);
  #input: FrameInput;
  #headerSent = false;
  #opened = false;
  #authenticated = false;
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(readonly conn: Connection, readonly services: ComponentServices) {
    this.#input = new FrameInput(
      (frame) => this.#handleFrame(frame),
      parserLimits(services.config.component),
      (full) => full ? conn.pause() : conn.resume(),
      (err) => {
        if (err instanceof StreamError) return this.close(err);
        log.error("{who}: internal error: {err}", { who: this.#who(), err });
        this.close(new StreamError("internal-server-error"));
      },
    );
  }

  start(): void {
    this.#timer = setTimeout(() => {
      log.info("{ip}: no handshake in time", { ip: this.conn.remoteAddress });
      this.close(new StreamError("connection-timeout", "No handshake in time"));
    }, this.services.config.component.authTimeoutSeconds * 1000);
    this.conn.start({
      onData: (chunk) => this.#input.push(chunk),
      onClose: (error) => {
        if (error) log.debug("{who}: connection error: {err}", { who: this.#who(), err: error });
        this.close();
      },
      // Called from inside a write: close a moment later, outside the sender's loop.
      onOverflow: () => {
        log.warn("{who}: not reading its stream; closing", { who: this.#who() });
        queueMicrotask(() =>
          this.close(new StreamError("resource-constraint", "Too much output waiting"))
        );
      },
    }, componentLimits(this.services.config));
  }

  #who(): string {
    return this.domain || this.conn.remoteAddress;
  }

  #handleFrame(frame: Frame): void | Promise<void> {
    switch (frame.kind) {
      case "open":
        return this.#onStreamOpen(frame.name, frame.ns, frame.attrs);
      case "stanza":
        return this.#onElement(frame.element);
      case "close":
        log.debug("{who}: stream closed by peer", { who: this.#who() });
        return this.close();
      case "error":
        brokenStreams.note(
          this.conn.remoteAddress,
          this.#who(),
          `${frame.condition}: ${frame.text}`,
        );
        throw new StreamError(frame.condition, frame.text);
    }
  }

  // ---- stream header and handshake (XEP-0114 §3) ----------------------------

  #onStreamOpen(name: string, ns: string, attrs: Record<string, string>): void {
    if (this.#opened) throw new StreamError("bad-format", "The stream is already open");
    checkStreamRoot(name, ns, attrs.xmlns, NS_COMPONENT);
    const to = attrs.to === undefined ? undefined : prepDomain(attrs.to);
    if (to === undefined || this.services.components.secretOf(to) === undefined) {
      throw new StreamError("host-unknown", "No component is configured as " + (attrs.to ?? "?"));
    }
    this.domain = to;
    this.#opened = true;
    this.#sendHeader();
  }

  #sendHeader(): void {
    if (this.#headerSent) return;
    this.#headerSent = true;
    this.conn.write(
      "<?xml version='1.0'?>" +
        openTag("stream:stream", {
          xmlns: NS_COMPONENT,
          "xmlns:stream": NS.stream,
          id: this.#id,
          from: this.domain || undefined,
        }),
    );
  }

  #logRefusal(what: string): void {
    const ip = this.conn.remoteAddress;
    const silent = refusedHandshakes.note(`${what} ${this.domain} ${ip}`);
    if (silent === undefined) return;
    log.warn(
      "{domain}: component {what} from {ip}; {silent} more since the last such line; " +
        "quiet for {window} s",
      { domain: this.domain, what, ip, silent, window: refusedHandshakes.windowMs / 1000 },
    );
  }

  #onHandshake(element: Element): void {
    const secret = this.services.components.secretOf(this.domain)!;
    const expected = new TextEncoder().encode(handshakeDigest(this.#id, secret));
    const given = new TextEncoder().encode(element.text().trim().toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      this.#logRefusal("handshake failed");
      throw new StreamError("not-authorized", "Wrong handshake");
    }
    if (!this.services.components.attach(this)) {
      this.#logRefusal("already connected; refusing a second stream");
      throw new StreamError("conflict", "This component is already connected");
    }
    this.#authenticated = true;
    clearTimeout(this.#timer);
    this.conn.authenticated();
    this.conn.write(serialize(el("handshake")));
    log.info("{domain}: component connected from {ip}", {
      domain: this.domain,
      ip: this.conn.remoteAddress,
    });
  }

  // ---- stanzas ------------------------------------------------------------

  #onElement(element: Element): void | Promise<void> {
    if (!this.#opened) throw new StreamError("not-authorized", "Stream not open");
    if (element.name === "stream:error") {
      log.info("{who}: peer sent a stream error: {err}", {
        who: this.#who(),
        err: serialize(element),
      });
      return this.close();
    }
    const xmlns = element.attrs.xmlns;
    if (!this.#authenticated) {
      if (element.name === "handshake" && xmlns === undefined) return this.#onHandshake(element);
      throw new StreamError("not-authorized", "Send the handshake first");
    }
    const isStanza = xmlns === undefined &&
      (element.name === "message" || element.name === "presence" || element.name === "iq");
    if (!isStanza) {
      throw new StreamError("unsupported-stanza-type", `<${element.name}/> is not supported`);
    }
    return this.#onStanza(element);
  }

  #onStanza(stanza: Element): void | Promise<void> {
    const attrs = stanza.attrs;
    if (attrs.from === undefined) {
      attrs.from = this.domain;
    } else {
      const from = parseJid(attrs.from);
      if (from === undefined || !this.#serves(from.domain)) {
        log.info("{domain}: stanza with spoofed from {from}", { domain: this.domain, ...attrs });
        throw new StreamError("invalid-from", "The from address is not this component's");
      }
      attrs.from = from.full;
    }
    if (attrs.to === undefined) {
      return this.#bounce(stanza, new StanzaError("modify", "bad-request", "A to is required"));
    }
    const to = parseJid(attrs.to);
    if (to === undefined) {
      return this.#bounce(stanza, new StanzaError("modify", "jid-malformed", "Invalid to"));
    }
    // Local hosts and components (this one's or another's) through the router, like a
    // peer server's stanzas: delivery to a component, and its bounces, live only in the
    // component module.
    const { router } = this.services;
    const accepted = router.fromPeer(stanza);
    if (typeof accepted !== "boolean") return this.#inFlight.track(accepted);
    // Another server's: s2s takes it, or core delivery bounces it.
    if (!accepted) router.route(stanza);
  }

  #serves(domain: string): boolean {
    return domain === this.domain || domain.endsWith("." + this.domain);
  }

  /** An error for a stanza of ours goes straight back (never an error to an error). */
  #bounce(stanza: Element, error: StanzaError): void {
    if (stanza.attrs.type === "error") return;
    this.send(errorReply(stanza, error));
  }

  // ---- ComponentLink --------------------------------------------------------

  send(stanza: Element): void {
    if (this.#closed) return;
    this.conn.write(serialize(stanza));
  }

  /** The last words, then close; also the transport-closed path. */
  close(error?: StreamError): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.services.components.detach(this);
    if (!this.conn.closed) {
      this.#sendHeader();
      if (error) this.conn.write(serialize(error.toElement()));
      this.conn.write("</stream:stream>");
      this.conn.close();
    }
    if (this.#authenticated) {
      log.info("{domain}: component disconnected{why}", {
        domain: this.domain,
        why: error ? " (" + error.condition + ")" : "",
      });
    } else if (error) {
      log.debug("{who}: closed with {condition}", { who: this.#who(), condition: error.condition });
    }
    this.#input.stop();
  }
}
