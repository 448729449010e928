/**
 * The stanza router. A stanza from a client is checked and stamped (RFC
 * 6120 §8.1.2.1 `from`, §4.7.4 `xml:lang`), classified by its `to`, and
 * dispatched as events named like Prosody's: `pre-message/bare` on the
 * sender's host, then `message/bare` on the recipient's host. Handlers
 * registered by modules and by `delivery.ts` do the rest.
 */
import type { Element } from "../xml/element.ts";
import { type Jid, parseJid } from "../jid.ts";
import { errorReply, StanzaError, StreamError } from "./errors.ts";
import { whenDone } from "./events.ts";
import type { Host } from "./host.ts";
import type { Session } from "./session.ts";
import type { ComponentRegistry } from "./components.ts";
import { logger } from "../log.ts";

const log = logger("router");

/** Where a stanza is addressed, relative to the hosts we serve. */
export type ToType = "host" | "bare" | "full" | "self" | "remote";

export interface StanzaEvent {
  /** The local client session it came from; undefined for server-made stanzas. */
  origin: Session | undefined;
  stanza: Element;
  /** Parsed `to`; undefined for stanzas to the sender's own account with no `to`. */
  to: Jid | undefined;
  /** The host the event fires on. */
  host: Host;
}

const IQ_TYPES = new Set(["get", "set", "result", "error"]);

/**
 * A `from` that differs from the session's JIDs as a string may still name
 * them once prepared (`ALICE@localhost/r` is alice's own full JID, RFC 7622
 * §3.3): checked after the string comparisons, which are the hot path.
 */
function isOwnAddress(from: string, origin: Session): boolean {
  const jid = parseJid(from);
  return jid !== undefined && (jid.full === origin.fullJid || jid.full === origin.bareJid);
}

export class Router {
  constructor(
    readonly hosts: Map<string, Host>,
    /** External components (XEP-0114): their domains are this server's too. */
    readonly components?: ComponentRegistry,
  ) {}

  /**
   * A domain this server answers for: a hosted one, or a configured
   * component's domain or subdomain of it (federation accepts and sends
   * stanzas for all of them).
   */
  isLocalDomain(domain: string): boolean {
    return this.hosts.has(domain) || this.components?.owner(domain) !== undefined;
  }

  /**
   * Entry point for every stanza a bound client sends. Throws StreamError
   * (the stream must end); any other failure costs only this stanza.
   * Returns a promise when its handling continues asynchronously (it
   * settles when all of it is done, and never rejects), for the stream to
   * bound its stanzas in the works.
   */
  fromClient(origin: Session, stanza: Element): void | Promise<void> {
    try {
      return this.#fromClient(origin, stanza);
    } catch (err) {
      if (err instanceof StreamError) throw err;
      this.failed(this.#clientEvent(origin, stanza), err);
    }
  }

  #clientEvent(origin: Session, stanza: Element): StanzaEvent {
    return { origin, stanza, to: undefined, host: this.#hostFor(origin.host ?? "") };
  }

  #fromClient(origin: Session, stanza: Element): void | Promise<void> {
    const attrs = stanza.attrs;
    const from = attrs.from;
    if (
      from !== undefined && from !== origin.fullJid && from !== origin.bareJid &&
      !isOwnAddress(from, origin)
    ) {
      log.info("{jid}: stanza with spoofed from {from}", {
        jid: origin.fullJid,
        // The client chooses it: a bounded excerpt, as in `failed`.
        from: from.slice(0, 256),
      });
      throw new StreamError("invalid-from", "The from address does not match this stream");
    }
    attrs.from = origin.fullJid!;
    if (attrs["xml:lang"] === undefined && origin.lang !== undefined) {
      attrs["xml:lang"] = origin.lang;
    }
    const host = this.hosts.get(origin.host!)!;
    const kind = stanza.name;
    if (kind === "iq") {
      const problem = checkIq(stanza);
      if (problem) return this.replyError({ origin, stanza, to: undefined, host }, problem);
    }
    let to: Jid | undefined;
    let toType: ToType = "self";
    if (attrs.to !== undefined) {
      to = parseJid(attrs.to);
      if (to === undefined) {
        const ev = { origin, stanza, to: undefined, host };
        return this.replyError(
          ev,
          new StanzaError("modify", "jid-malformed", "Invalid to address"),
        );
      }
      toType = classify(to, this.hosts);
      if (
        kind === "iq" && toType === "bare" && to.domain === origin.host &&
        to.local === origin.username
      ) {
        toType = "self";
      }
    }
    const ev: StanzaEvent = { origin, stanza, to, host };
    const pre = this.#fire("pre-" + kind + "/" + toType, ev);
    return whenDone(
      pre,
      (handled) => {
        if (!handled) return this.#dispatch(ev, kind, toType);
      },
      (err) => this.failed(ev, err),
    );
  }

  /**
   * Entry point for a stanza from another server (s2s) or an external
   * component, whose `from` the stream already checked against what the
   * peer authenticated. Only stanzas to local hosts and components'
   * domains are accepted (no pre-* events: those are for local clients;
   * a component's get `<kind>/remote`, which the component module
   * delivers); an invalid iq is answered like a client's (RFC 6120
   * §8.2.3); false means the `to` is missing, malformed or not ours, and
   * the caller answers the peer. Accepted, it returns true, or a promise
   * when the handling continues asynchronously (as `fromClient`).
   */
  fromPeer(stanza: Element): boolean | Promise<void> {
    const toAttr = stanza.attrs.to;
    const to = toAttr === undefined ? undefined : parseJid(toAttr);
    if (to === undefined) return false;
    const toType = classify(to, this.hosts);
    if (toType === "remote" && this.components?.owner(to.domain) === undefined) return false;
    const ev = { origin: undefined, stanza, to, host: this.#hostFor(to.domain) };
    // RFC 6120 §10.1: stanzas from one sender are handled in the order they
    // came, as a client's are (its stream waits for each). A peer stream may
    // have several stanzas in the works, so the order is kept here, per
    // sending entity (bare JID): a contact's `subscribed` has updated the
    // user's roster (and pushed it) before the contact's presence behind it
    // is delivered. Other senders on the same stream do not wait.
    const sender = bareOf(stanza.attrs.from ?? "");
    const tail = this.#peerTails.get(sender);
    if (tail) return this.#keepOrder(sender, tail.then((): unknown => this.#fromPeer(ev, toType)));
    const r = this.#fromPeer(ev, toType);
    return r === true ? true : this.#keepOrder(sender, r);
  }

  /** Senders (bare JIDs) whose stanzas from a peer are still being handled: their tails. */
  readonly #peerTails = new Map<string, Promise<void>>();

  /** `handling` is the sender's tail until it settles (it never rejects: see whenDone). */
  #keepOrder(sender: string, handling: Promise<unknown>): Promise<void> {
    const tail = handling.then(() => {
      if (this.#peerTails.get(sender) === tail) this.#peerTails.delete(sender);
    });
    this.#peerTails.set(sender, tail);
    return tail;
  }

  #fromPeer(ev: StanzaEvent, toType: ToType): true | Promise<void> {
    try {
      const stanza = ev.stanza;
      const problem = stanza.name === "iq" ? checkIq(stanza) : undefined;
      if (problem) this.replyError(ev, problem);
      else return this.#dispatch(ev, stanza.name, toType) ?? true;
    } catch (err) {
      this.failed(ev, err);
    }
    return true;
  }

  /**
   * Route a stanza made by the server or a module, whose `to` names the
   * destination. Skips the pre-* events (they are for client stanzas).
   * Returns a promise when the recipient side's handling continues
   * asynchronously (it settles when all of it is done and never rejects):
   * a module that must order what it sends next after the effects of this
   * stanza (a roster push before the presence it allows) awaits it.
   */
  route(stanza: Element, origin?: Session): void | Promise<void> {
    const toAttr = stanza.attrs.to;
    const to = toAttr === undefined ? undefined : parseJid(toAttr);
    if (to === undefined) {
      log.warn("dropping a server stanza with a missing or invalid to: {to}", { to: toAttr });
      return;
    }
    const toType = classify(to, this.hosts);
    // Remote destination: the sender's user host routes it (a service host
    // has no s2s or component module: its parent's send for it).
    const host = this.hosts.get(to.domain) ??
      this.#hostFor(parseJid(stanza.attrs.from ?? "")?.domain ?? origin?.host ?? "");
    const ev = { origin, stanza, to, host };
    try {
      return this.#dispatch(ev, stanza.name, toType);
    } catch (err) {
      this.failed(ev, err);
    }
  }

  /**
   * The host serving `domain`, or its nearest hosted parent (a component's),
   * else the first; a user host: a service host's stanzas for elsewhere
   * (remote domains, components) are routed by its parent.
   */
  #hostFor(domain: string): Host {
    for (let d = domain; d !== "";) {
      const host = this.hosts.get(d);
      if (host) return host.parent === undefined ? host : this.hosts.get(host.parent) ?? host;
      const dot = d.indexOf(".");
      d = dot === -1 ? "" : d.slice(dot + 1);
    }
    return this.hosts.values().next().value!;
  }

  #dispatch(ev: StanzaEvent, kind: string, toType: ToType): void | Promise<void> {
    if (toType !== "self" && toType !== "remote") {
      const target = this.hosts.get(ev.to!.domain);
      if (target !== ev.host) ev = { ...ev, host: target! };
    }
    const r = this.#fire(kind + "/" + toType, ev);
    return whenDone(
      r,
      (handled) => {
        if (handled) return;
        if (kind === "iq") {
          const type = ev.stanza.attrs.type;
          if (type === "get" || type === "set") {
            this.replyError(ev, new StanzaError("cancel", "service-unavailable"));
          }
          return;
        }
        log.debug("unhandled {kind}/{toType} dropped", { kind, toType });
      },
      (err) => this.failed(ev, err),
    );
  }

  /**
   * Fire on the event's host; a handler that throws costs its stanza an
   * error reply, never the sender's stream.
   */
  #fire(name: string, ev: StanzaEvent): boolean | Promise<boolean> {
    try {
      return ev.host.events.fire(name, ev);
    } catch (err) {
      this.failed(ev, err);
      return true;
    }
  }

  /**
   * Send the error reply for `ev.stanza` back to its sender. Never answers
   * an error with an error (RFC 6120 §8.3.1).
   */
  replyError(ev: StanzaEvent, error: StanzaError): void {
    const stanza = ev.stanza;
    const type = stanza.attrs.type;
    // Nor an iq result (§8.2.3), even a malformed one.
    if (type === "error" || (type === "result" && stanza.name === "iq")) {
      log.debug("not answering {name} of type {type} with {condition}", {
        name: stanza.name,
        type,
        condition: error.condition,
      });
      return;
    }
    const reply = errorReply(stanza, error);
    if (ev.to === undefined && ev.origin) reply.setAttr("from", undefined);
    const origin = ev.origin;
    // No `to`: the stanza failed before the router stamped its `from`.
    const to = reply.attrs.to;
    if (origin && (to === undefined || to === origin.fullJid) && !origin.destroyed) {
      origin.send(reply);
      return;
    }
    if (to !== undefined) this.route(reply);
  }

  /**
   * A handler (or the router itself) failed on `ev.stanza`. A thrown
   * StanzaError is the reply; anything else is a bug, logged with the
   * sender's session, and only an iq get/set, whose sender waits for an
   * answer, gets one (`internal-server-error`, RFC 6120 §8.2.3); other
   * stanzas are dropped with the log line. Never throws: a reply that
   * cannot be sent is logged too, so one stanza can end neither the
   * sender's stream nor the process.
   */
  failed(ev: StanzaEvent, err: unknown): void {
    try {
      if (err instanceof StanzaError) return this.replyError(ev, err);
      const stanza = ev.stanza;
      log.error("{session}: handling <{name} type={type} id={id}> failed: {err}", {
        session: describeSender(ev),
        name: stanza.name,
        // A peer chooses these: a bounded excerpt is enough to find the stanza.
        type: (stanza.attrs.type ?? "").slice(0, 32),
        id: (stanza.attrs.id ?? "").slice(0, 64),
        err,
      });
      const type = stanza.attrs.type;
      if (stanza.name === "iq" && (type === "get" || type === "set")) {
        this.replyError(ev, new StanzaError("cancel", "internal-server-error"));
      }
    } catch (again) {
      log.error("{session}: the error reply failed too: {again}", {
        session: describeSender(ev),
        again,
      });
    }
  }
}

/** Who sent the stanza, for logs: the client session (JID and id) or the peer's address. */
function describeSender(ev: StanzaEvent): string {
  const origin = ev.origin;
  if (origin) return `${origin.fullJid ?? origin.bareJid ?? "unbound"} (session ${origin.id})`;
  return ev.stanza.attrs.from ?? "?";
}

/** The bare part of a JID string (no preparation: the peer's stream checked its `from`). */
function bareOf(jid: string): string {
  const slash = jid.indexOf("/");
  return slash === -1 ? jid : jid.slice(0, slash);
}

/** RFC 6120 §8.2.3: a type and an id; get/set carry exactly one payload. */
function checkIq(iq: Element): StanzaError | undefined {
  const type = iq.attrs.type;
  if (type === undefined || !IQ_TYPES.has(type)) {
    return new StanzaError("modify", "bad-request", "Invalid iq type");
  }
  if (iq.attrs.id === undefined) return new StanzaError("modify", "bad-request", "Missing iq id");
  if (type === "get" || type === "set") {
    let payloads = 0;
    for (const c of iq.children) if (typeof c !== "string") payloads++;
    if (payloads !== 1) {
      return new StanzaError("modify", "bad-request", "An iq get/set carries exactly one payload");
    }
  }
  return undefined;
}

export function classify(to: Jid, hosts: Map<string, Host>): ToType {
  if (!hosts.has(to.domain)) return "remote";
  // domain/resource addresses the server itself too (RFC 6120 §4.3.6 says nothing more).
  if (to.local === undefined) return "host";
  return to.resource === undefined ? "bare" : "full";
}
