/**
 * Dialback (XEP-0220) on an incoming s2s stream: the receiving-server role
 * (`<db:result/>`: a peer asks to send from its domain to one of ours; we
 * ask its authoritative server) and the authoritative-server role
 * (`<db:verify/>`: is this key one we made?). The stream (`DialbackHost`)
 * keeps the proven pairs and what authentication changes for it.
 */
import type { S2sInServices } from "../../stream/s2s_in.ts";
import type { DialbackVerdict } from "../common.ts";
import { el, type Element, serialize } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { prepDomain } from "../../jid.ts";
import { StreamError } from "../../core/errors.ts";
import { logger } from "../../log.ts";

const log = logger("s2s");

/**
 * Distinct db:result checks one incoming stream may have in flight at once. A real server
 * adds its domains a few at a time; more waits (XEP-0220 error result, type wait).
 */
const MAX_PENDING_DIALBACK = 8;

/**
 * Domain pairs one incoming stream may authenticate in all. A peer names
 * the pairs (any subdomain of a component is ours, a wildcard certificate
 * proves any of its subdomains at once), and each proven pair stays for
 * the stream's life and is offered as a route (XEP-0288): without a cap
 * the set, and the work per new pair, grew for as long as the peer
 * asked. Real peers multiplex a handful of domains.
 */
export const MAX_PAIRS_PER_STREAM = 256;

/** What dialback needs from the incoming stream it runs on. */
export interface DialbackHost
  extends Pick<S2sInServices, "isLocalDomain" | "verifyDialback" | "keys"> {
  write(data: string): void;
  /** Who the peer is, for the log (its claimed domain, else its address). */
  peerName(): string;
  /** The stream id our header gave (dialback keys are bound to it). */
  streamId(): string;
  closed(): boolean;
  /** "remote local" pairs proven so far (by either way), shared with the stream. */
  readonly pairs: Set<string>;
  /** Encryption is required and the stream is not encrypted yet. */
  tlsRequired(): boolean;
  /** The peer's certificate is valid for `domain` (XEP-0344). */
  certValidFor(domain: string): boolean;
  /** Policy allows dialback on this stream. */
  dialbackAllowed(): boolean;
  /** `from` is now proven for `to`: stop the deadline, mark the connection authenticated. */
  proven(from: string, to: string, how: "certificate" | "dialback"): void;
  /** After a "valid" answer: XEP-0288 routes may now be offered. */
  offerRoutes(): void;
  /** A key was checked for the peer (authoritative role): the stream is in use. */
  keyChecked(): void;
  /** An error from a detached check: ends the stream. */
  onError(err: unknown): void;
}

export class DialbackReceiver {
  /** Pairs with a verification in flight: a repeated db:result gets the same answer. */
  #pending = new Map<string, Promise<DialbackVerdict>>();

  /** Checks of the peer's keys still waiting for their verdict. */
  get pending(): number {
    return this.#pending.size;
  }

  constructor(readonly host: DialbackHost) {}

  /** Receiving-server role (XEP-0220 §2.1.2). */
  onResult(result: Element): void {
    if (result.attrs.type !== undefined) return; // results of our own requests go on outgoing streams
    const host = this.host;
    const from = prepDomain(result.attrs.from ?? "");
    const to = prepDomain(result.attrs.to ?? "");
    if (from === undefined || to === undefined) {
      throw new StreamError("improper-addressing", "db:result needs from and to");
    }
    const reply = (type: string, error?: Element) => this.#reply(from, to, type, error);
    if (!host.isLocalDomain(to)) {
      return reply("error", dbError("cancel", "item-not-found"));
    }
    if (host.tlsRequired()) {
      throw new StreamError("policy-violation", "Encryption is required: use STARTTLS first");
    }
    // One of our own domains: this server is its authoritative server and never sends a
    // key for it to anyone (we do not connect to ourselves), so the key is not ours. Asking
    // "its" server would have this server connect to itself at a peer's word.
    if (host.isLocalDomain(from)) {
      log.warn("{peer}: db:result claims our own domain {domain}; refused", {
        peer: host.peerName(),
        domain: from,
      });
      return reply("invalid");
    }
    const pair = from + " " + to;
    // Every request gets an answer (XEP-0220 §2.1.2), a repeated one the known result.
    if (host.pairs.has(pair)) return reply("valid");
    if (host.pairs.size + this.#pending.size >= MAX_PAIRS_PER_STREAM) {
      return reply("error", dbError("wait", "resource-constraint"));
    }
    // A certificate valid for the domain proves it already (XEP-0344 §2.4), whatever the
    // dialback policy: that is how a peer with a valid certificate adds a second domain.
    if (host.certValidFor(from)) {
      host.proven(from, to, "certificate");
      reply("valid");
      return host.offerRoutes();
    }
    if (!host.dialbackAllowed()) {
      return reply("error", dbError("cancel", "not-allowed"));
    }
    // Each distinct pending check may open an outgoing stream (DNS + TCP) to a domain the
    // peer names, before it has proven anything: cap them per stream; a repeat of a pending
    // pair joins its check and costs nothing.
    const first = !this.#pending.has(pair);
    if (first) {
      if (this.#pending.size >= MAX_PENDING_DIALBACK) {
        return reply("error", dbError("wait", "resource-constraint"));
      }
      // Streams (and peers) multiply that: the server as a whole caps them too.
      const check = host.verifyDialback(to, from, host.streamId(), result.text());
      if (check === undefined) return reply("error", dbError("wait", "resource-constraint"));
      this.#pending.set(pair, check.catch(() => "error" as const));
    }
    // Detached: asking the authoritative server may take up to s2s.connectTimeoutSeconds,
    // and the stream's other traffic (stanzas of domains already proven, db:verify) must
    // not wait behind it. Errors from here on only close the stream.
    void this.#check(pair, from, to, first).catch((err) => host.onError(err));
  }

  /**
   * The verdict of `from`'s server (the check `#pending` holds for `pair`),
   * then the answer. `first`: this request started the check (a repeat gets
   * the same answer, logged once).
   */
  async #check(pair: string, from: string, to: string, first: boolean): Promise<void> {
    const host = this.host;
    const reply = (type: string, error?: Element) => this.#reply(from, to, type, error);
    const verdict = await this.#pending.get(pair)!;
    this.#pending.delete(pair);
    if (host.closed()) return;
    if (verdict === "valid") {
      if (first) host.proven(from, to, "dialback");
      reply("valid");
      host.offerRoutes();
    } else if (verdict === "invalid") {
      if (first) {
        log.warn("{peer}: dialback key refused by its authoritative server", { peer: from });
      }
      reply("invalid");
    } else {
      reply("error", dbError("cancel", "remote-server-not-found"));
    }
  }

  /** Our answer to the peer's db:result for `from` → `to`. */
  #reply(from: string, to: string, type: string, error?: Element): void {
    this.host.write(serialize(el("db:result", { from: to, to: from, type }, error)));
  }

  /** Authoritative-server role: is this key one we generated? */
  onVerify(verify: Element): void {
    const host = this.host;
    const from = prepDomain(verify.attrs.from ?? "");
    const to = prepDomain(verify.attrs.to ?? "");
    const id = verify.attrs.id;
    if (from === undefined || to === undefined || id === undefined) {
      throw new StreamError("improper-addressing", "db:verify needs from, to and id");
    }
    if (host.tlsRequired()) {
      throw new StreamError("policy-violation", "Encryption is required: use STARTTLS first");
    }
    const attrs = { from: to, to: from, id };
    if (!host.isLocalDomain(to)) {
      host.write(serialize(
        el("db:verify", { ...attrs, type: "error" }, dbError("cancel", "item-not-found")),
      ));
      return;
    }
    const ok = host.keys.verify(from, to, id, verify.text());
    host.write(serialize(el("db:verify", { ...attrs, type: ok ? "valid" : "invalid" })));
    host.keyChecked();
  }
}

function dbError(type: string, condition: string): Element {
  return el("error", { type }, el(condition, { xmlns: NS.stanzas }));
}
