/**
 * The external component stream (XEP-0114, `jabber:component:accept`),
 * thin on the stream core (frame wiring, header, close sequence, auth
 * timer: src/stream/core.ts). The component opens a stream to its
 * configured domain, proves the shared secret with `<handshake>` =
 * hex SHA-1(stream id + secret), and then exchanges stanzas for its
 * domain and every subdomain of it.
 *
 * Choices XEP-0114 leaves open (Prosody's, where it made one):
 * - A second stream for a component that is already connected is refused
 *   with `conflict` after its handshake checks out; the live one stays, so
 *   a restarting component cannot be cut off by a stale twin.
 * - A stanza without `from` is stamped with the component's domain; a
 *   `from` outside the component's domain (or unparseable, or in a
 *   subdomain another component or a hosted domain owns) is a spoofing
 *   attempt: `invalid-from` ends the stream.
 * - A stanza without `to` (or with a malformed one) is bounced to the
 *   component (`bad-request` / `jid-malformed`); the stream stays.
 * - No handshake within component.authTimeoutSeconds: `connection-timeout`.
 * - Wrong secrets: past component.failedHandshakesPerIp from one address,
 *   every handshake from it is refused (`not-authorized`) for the window.
 * - Its limits (stanza size and depth, read rate, output) are `component.*`.
 */
import { InFlight, MAX_STANZAS_IN_FLIGHT } from "./in_flight.ts";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Connection } from "../net/connection.ts";
import type { Config } from "../config/schema.ts";
import { el, type Element } from "../xml/element.ts";
import { StreamCore } from "./core.ts";
import type { StreamOpenAttrs, StreamTransport } from "./transport.ts";
import { XmlStreamTransport } from "./xml_stream.ts";
import { checkStreamRoot } from "./stream_root.ts";
import { componentTransportLimits } from "./limits.ts";
import { parseJid, prepDomain } from "../jid.ts";
import { errorReply, StanzaError, StreamError } from "../core/errors.ts";
import type { Router } from "../core/router.ts";
import type { ComponentLink, ComponentRegistry } from "../core/components.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import type { FailureThrottle } from "../auth/throttle.ts";
import { addressKey } from "../net/address_key.ts";
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
  /** Wrong handshakes per address (component.failedHandshakesPerIp). */
  handshakeThrottle: FailureThrottle;
}

export function handleComponentConnection(conn: Connection, services: ComponentServices): void {
  new ComponentStream(new XmlStreamTransport(conn), services).start();
}

/** XEP-0114 §3: the handshake is the lowercase hex SHA-1 of stream id + secret. */
function handshakeDigest(streamId: string, secret: string): string {
  return createHash("sha1").update(streamId + secret, "utf8").digest("hex");
}

class ComponentStream extends StreamCore implements ComponentLink {
  domain = "";
  #id = randomId();
  /** Links carry many users' traffic: a larger share of stanzas in the works. */
  #inFlight = new InFlight(4 * MAX_STANZAS_IN_FLIGHT);
  #opened = false;
  #authenticated = false;

  constructor(transport: StreamTransport, readonly services: ComponentServices) {
    const { config } = services;
    super(transport, {
      log,
      broken: brokenStreams,
      limits: componentTransportLimits(config),
      authTimeoutMs: config.component.authTimeoutSeconds * 1000,
      authTimeoutText: "No handshake in time",
    });
  }

  protected override who(): string {
    return this.domain || this.transport.remoteAddress;
  }

  protected override onTransportClose(error?: Error): void {
    if (error) log.debug("{who}: connection error: {err}", { who: this.who(), err: error });
    this.close();
  }

  // ---- stream header and handshake (XEP-0114 §3) ----------------------------

  protected override onOpen(attrs: Record<string, string>, name: string, ns: string): void {
    if (this.#opened) throw new StreamError("bad-format", "The stream is already open");
    checkStreamRoot(name, ns, attrs.xmlns, NS_COMPONENT);
    const to = attrs.to === undefined ? undefined : prepDomain(attrs.to);
    if (to === undefined || this.services.components.secretOf(to) === undefined) {
      throw new StreamError("host-unknown", "No component is configured as " + (attrs.to ?? "?"));
    }
    this.domain = to;
    this.#opened = true;
    this.sendHeader();
  }

  protected override headerAttrs(): StreamOpenAttrs {
    return { xmlns: NS_COMPONENT, id: this.#id, from: this.domain || undefined };
  }

  #logRefusal(what: string): void {
    const ip = this.transport.remoteAddress;
    const silent = refusedHandshakes.note(`${what} ${this.domain} ${ip}`);
    if (silent === undefined) return;
    log.warn(
      "{domain}: component {what} from {ip}; {silent} more since the last such line; " +
        "quiet for {window} s",
      { domain: this.domain, what, ip, silent, window: refusedHandshakes.windowMs / 1000 },
    );
  }

  #onHandshake(element: Element): void {
    const { handshakeThrottle } = this.services;
    const address = addressKey(this.transport.remoteAddress);
    // Each connection gets one guess, but connections are cheap: an address past its
    // budget of wrong secrets is refused whatever it sends, with the answer a wrong
    // secret gets, so that the refusal tells a guesser nothing.
    if (handshakeThrottle.isBlocked(address)) {
      this.#logRefusal("handshake refused (too many wrong secrets from this address)");
      throw new StreamError("not-authorized", "Wrong handshake");
    }
    const secret = this.services.components.secretOf(this.domain)!;
    const expected = new TextEncoder().encode(handshakeDigest(this.#id, secret));
    const given = new TextEncoder().encode(element.text().trim().toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      handshakeThrottle.fail(address);
      this.#logRefusal("handshake failed");
      throw new StreamError("not-authorized", "Wrong handshake");
    }
    if (!this.services.components.attach(this)) {
      this.#logRefusal("already connected; refusing a second stream");
      throw new StreamError("conflict", "This component is already connected");
    }
    this.#authenticated = true;
    this.authenticated();
    this.transport.authenticated();
    this.send(el("handshake"));
    log.info("{domain}: component connected from {ip}", {
      domain: this.domain,
      ip: this.transport.remoteAddress,
    });
  }

  // ---- stanzas ------------------------------------------------------------

  protected override onElement(element: Element): void | Promise<void> {
    if (!this.#opened) throw new StreamError("not-authorized", "Stream not open");
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
        log.info("{domain}: stanza with spoofed from {from}", {
          domain: this.domain,
          // Not the peer's attributes spread (one named `domain` would replace ours): a
          // bounded excerpt of `from`.
          from: attrs.from.slice(0, 256),
        });
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

  /**
   * Its domain and subdomains, except those owned elsewhere: a nested
   * component's (the longest configured match owns an address) and any
   * domain this server hosts. Either would let it speak for someone else.
   */
  #serves(domain: string): boolean {
    const { components, router } = this.services;
    return components.owner(domain) === this.domain && !router.hosts.has(domain);
  }

  /** An error for a stanza of ours goes straight back (never an error to an error). */
  #bounce(stanza: Element, error: StanzaError): void {
    if (stanza.attrs.type === "error") return;
    this.send(errorReply(stanza, error));
  }

  // ---- ComponentLink (send: the core's) ---------------------------------------

  /** The last words, then close; also the transport-closed path. */
  override close(error?: StreamError): void {
    if (this.closed) return;
    this.services.components.detach(this);
    super.close(error);
    if (this.#authenticated) {
      log.info("{domain}: component disconnected{why}", {
        domain: this.domain,
        why: error ? " (" + error.condition + ")" : "",
      });
    }
  }
}
