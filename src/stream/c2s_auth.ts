/**
 * The authentication of one client stream: SASL (RFC 6120 §6) and SASL2
 * (XEP-0388), with the SASL2-only mechanisms of modules (FAST, XEP-0484).
 * Both profiles live here together because they share one throttle, one
 * attempt counter and one mechanism list. The stream (c2s.ts) hands over
 * the elements of the two namespaces and asks for the features to offer;
 * a SASL2 success goes on to sasl2_success.ts in the same round trip.
 */
import type { SaslContext, SaslExchange, SaslStep } from "../auth/types.ts";
import {
  type MechanismOptions,
  offeredMechanisms,
  startExchange,
  unavailableMechanismCondition,
} from "../auth/mechanisms.ts";
import { accountKey, type ThrottleRefusal } from "../auth/login_throttle.ts";
import { addressKey } from "../net/address_key.ts";
import { OncePerWindow } from "../util/once_per_window.ts";
import { el, type Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { StreamError } from "../core/errors.ts";
import { logger } from "../log.ts";
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import { authenticationFeature, sasl2Challenge, sasl2Failure } from "./sasl2.ts";
import { completeSasl2 } from "./sasl2_success.ts";
import type { C2sStream } from "./c2s.ts";
import * as counters from "../metrics/counters.ts";
import { parseJid, prepDomain } from "../jid.ts";

/**
 * Logins refused by the throttle, logged once per address (or account) per
 * minute: each attempt costs the peer a round trip, a log line would cost
 * the operator's disk.
 */
const refusedLogins = new OncePerWindow();

const log = logger("c2s");

/** RFC 6120 §6.4.5: a few retries, then the stream is closed. */
const MAX_AUTH_ATTEMPTS = 5;

export class C2sAuth {
  #sasl: SaslExchange | undefined;
  /** The SASL2 `<authenticate/>` being answered; undefined during SASL1 (RFC 6120). */
  #authenticate: Element | undefined;
  #mechanism = "";
  #authAttempts = 0;

  constructor(readonly stream: C2sStream) {}

  /**
   * A SASL2 exchange waits for the client's `<response/>` (a challenge is
   * out). XEP-0388 §2.4: the client may then send only that or `<abort/>`.
   */
  get awaitingSasl2Response(): boolean {
    return this.#authenticate !== undefined && this.#sasl !== undefined;
  }

  /** No more input reaches this stream's session: any exchange under way is dropped. */
  stop(): void {
    this.#sasl = undefined;
    this.#authenticate = undefined;
  }

  /**
   * What an unauthenticated stream offers once TLS is not (or no longer)
   * required: the SASL mechanisms, XEP-0440's channel-binding types, and
   * SASL2's `<authentication/>` with its inline features.
   */
  features(): Element[] {
    const stream = this.stream;
    const out: Element[] = [];
    // The list SSDP signs (#saslContext), computed once.
    const mechanisms = this.#saslContext().advertised!.mechanisms;
    out.push(
      el("mechanisms", { xmlns: NS.sasl }, ...mechanisms.map((m) => el("mechanism", {}, m))),
    );
    // XEP-0440: say which binding -PLUS means here, so clients pick one they share.
    if (mechanisms.some((m) => m.endsWith("-PLUS"))) {
      out.push(el(
        "sasl-channel-binding",
        { xmlns: NS.saslChannelBinding },
        el("channel-binding", { type: "tls-server-end-point" }),
      ));
    }
    // SASL2 (XEP-0388) beside SASL1, with the same mechanisms; not at all
    // without one (§2.1: "MUST NOT be offered if not at least one mechanism
    // can be provided" — PLAIN-only providers in plaintext, say).
    if (mechanisms.length === 0) return out;
    const host = stream.services.hosts.get(stream.session.host!);
    const inline = (host?.providers.items("sasl2-inline") ?? [])
      .map((i) => i.feature(stream))
      .filter((e): e is Element => e !== undefined);
    out.push(
      authenticationFeature(mechanisms, host?.providers.items("bind2-inline") ?? [], inline),
    );
    return out;
  }

  /**
   * No channel binding (no -PLUS mechanism) in this SASL profile (RFC 6120
   * §6). RFC 5802 §6 makes a server that offers -PLUS refuse the `y` flag
   * ("I could bind, but the server cannot"), which is how a client notices
   * that someone stripped -PLUS from the list. Here, `y` is also what
   * every client sends whose only binding types are tls-unique or
   * tls-exporter, which Deno cannot provide (slixmpp 1.8 does, on every
   * SCRAM login over TLS): refusing it would lock them out, and accepting
   * it beside -PLUS is exactly the undetectable downgrade the rule forbids.
   * SASL1 has no way out of that, so it offers no -PLUS and `y` is then
   * the truth. Channel binding (tls-server-end-point, still computed per
   * certificate in SecureContexts) comes back with SASL2 (XEP-0388), whose
   * clients learn the server's types from XEP-0440 and detect a stripped
   * list with XEP-0474, so refusing `y` there locks nobody out.
   */
  #saslContext(): SaslContext {
    const stream = this.stream;
    const ctx: SaslContext = {
      host: stream.session.host!,
      provider: stream.services.auth,
      secure: stream.transport.secure,
    };
    // XEP-0474: SCRAM signs what the features listed (the same list for
    // SASL1 and SASL2; no channel-binding types while no -PLUS is offered).
    const mechanisms = offeredMechanisms(ctx, this.#mechanismOptions());
    const channelBindings = mechanisms.some((m) => m.endsWith("-PLUS"))
      ? ["tls-server-end-point"]
      : [];
    return { ...ctx, advertised: { mechanisms, channelBindings } };
  }

  #mechanismOptions(): MechanismOptions {
    const { c2s, auth } = this.stream.services.config;
    return {
      allowPlainWithoutTls: c2s.allowPlainWithoutTls,
      scramIterations: auth.scramIterations,
    };
  }

  /**
   * Every failure counts towards the retry limit, whatever its cause
   * (TLS missing, a throttled IP, a malformed request): otherwise one
   * connection could retry forever (RFC 6120 §6.4.5).
   */
  #saslFailure(condition: string, text?: string, cause = condition): void {
    counters.countAuth(cause);
    this.stream.send(
      this.#authenticate ? sasl2Failure(condition, text) : el(
        "failure",
        { xmlns: NS.sasl },
        el(condition),
        text ? el("text", { "xml:lang": "en" }, text) : undefined,
      ),
    );
    this.#authenticate = undefined;
    this.#countAttempt();
  }

  /** An element in the SASL namespace (RFC 6120 §6.4). */
  async onSasl(element: Element): Promise<void> {
    if (this.stream.tlsRequired()) {
      this.#saslFailure("encryption-required", "Use STARTTLS first");
      return;
    }
    const ip = this.stream.transport.remoteAddress;
    // An exchange SASL2 started ends in SASL2 (its inline requests with it).
    const sasl2 = this.#authenticate !== undefined;
    this.#authenticate = undefined;
    switch (element.name) {
      case "auth": {
        if (this.#ipThrottled(ip)) return;
        const mechanism = element.attrs.mechanism ?? "";
        if (!this.#start(mechanism)) return;
        const text = element.text().trim();
        // RFC 6120 §6.4.2: "=" is an empty initial response, nothing is none.
        return await this.#saslStep(text === "" ? null : text);
      }
      case "response": {
        if (!this.#sasl || sasl2) {
          this.#sasl = undefined;
          this.#saslFailure("malformed-request", "No authentication in progress");
          return;
        }
        return await this.#saslStep(element.text().trim());
      }
      case "abort": {
        this.#sasl = undefined;
        this.#saslFailure("aborted");
        return;
      }
      default:
        this.#saslFailure("malformed-request");
    }
  }

  /**
   * SASL2 (XEP-0388): `<authenticate/>` carries the mechanism, the initial
   * response, the user agent and the inline requests; the exchange then
   * runs as SASL1's, in this namespace, and ends without a restart.
   */
  async onSasl2(element: Element): Promise<void> {
    const ip = this.stream.transport.remoteAddress;
    // XEP-0388 §2.4: while a challenge waits for its response, only
    // <response/> or <abort/>; a new <authenticate/> is other traffic.
    if (element.name === "authenticate" && this.awaitingSasl2Response) {
      throw new StreamError("policy-violation", "Only <response/> or <abort/> during SASL2");
    }
    if (element.name === "authenticate") this.#authenticate = element;
    else if (!this.#authenticate) {
      // Only a failure in this namespace makes sense to the client.
      this.#authenticate = element;
      this.#sasl = undefined;
      return this.#saslFailure("malformed-request", "No authentication in progress");
    }
    if (this.stream.tlsRequired()) {
      this.#saslFailure("encryption-required", "Use STARTTLS first");
      return;
    }
    switch (element.name) {
      case "authenticate": {
        if (this.#ipThrottled(ip)) return;
        // XEP-0388 §2.3: an upgrade not announced MUST fail the authentication.
        // This server announces none (no <upgrade/> in the feature), so any
        // `upgrade` is one the client made up or read from a tampered list.
        if (element.attrs.upgrade !== undefined) {
          this.#sasl = undefined;
          return this.#saslFailure("invalid-mechanism", "No upgrade was offered");
        }
        if (!this.#start(element.attrs.mechanism ?? "")) return;
        const initial = element.getChild("initial-response");
        const text = initial?.text().trim();
        // XEP-0388 §2.3: an empty element is an empty response, none is none.
        return await this.#saslStep(initial === undefined ? null : text === "" ? "=" : text!);
      }
      case "response":
        if (!this.#sasl) return this.#saslFailure("malformed-request", "No exchange in progress");
        return await this.#saslStep(element.text().trim());
      case "abort":
        this.#sasl = undefined;
        return this.#saslFailure("aborted");
      default:
        // <next/> answers a <continue/>, which this server never sends (no tasks offered).
        this.#sasl = undefined;
        return this.#saslFailure("malformed-request", "No task was offered");
    }
  }

  /** Starts `mechanism`'s exchange; false (and a failure sent) when it is not offered. */
  #start(mechanism: string): boolean {
    const ctx = this.#saslContext();
    const exchange = startExchange(mechanism, ctx, this.#mechanismOptions()) ??
      this.#moduleMechanism(mechanism, ctx);
    if (!exchange) {
      this.#saslFailure(unavailableMechanismCondition(mechanism, ctx, this.#mechanismOptions()));
      return false;
    }
    this.#sasl = exchange;
    this.#mechanism = mechanism;
    return true;
  }

  /** A SASL2-only mechanism of a module (FAST), during SASL2 only. */
  #moduleMechanism(mechanism: string, ctx: SaslContext): SaslExchange | undefined {
    const authenticate = this.#authenticate;
    if (!authenticate) return undefined;
    const stream = this.stream;
    const host = stream.services.hosts.get(stream.session.host!)!;
    for (const m of host.providers.items("sasl2-mechanism")) {
      if (m.names(stream).includes(mechanism)) return m.start(mechanism, ctx, authenticate, stream);
    }
    return undefined;
  }

  /** An address past its failure limit is not heard at all. */
  #ipThrottled(ip: string): boolean {
    if (!this.stream.services.loginThrottle.ipBlocked(ip)) return false;
    const silent = refusedLogins.note("ip " + addressKey(ip));
    if (silent !== undefined) {
      log.warn(
        "{ip}: authentication refused: too many failures; {silent} refused since the " +
          "last such line; quiet for this address for {window} s",
        { ip, silent, window: refusedLogins.windowMs / 1000 },
      );
    }
    this.#saslFailure(
      "temporary-auth-failure",
      "Too many failed attempts; try again later",
      "throttled",
    );
    return true;
  }

  async #saslStep(text: string | null): Promise<void> {
    let data: Uint8Array | null = null;
    if (text !== null && text !== "=") {
      const decoded = decodeBase64(text);
      if (!decoded) {
        this.#sasl = undefined;
        return this.#saslFailure("incorrect-encoding");
      }
      data = decoded;
    } else if (text === "=") {
      data = new Uint8Array(0);
    }
    const step = await this.#sasl!.step(data);
    if (this.stream.closed) return;
    await this.#afterStep(step);
  }

  async #afterStep(step: SaslStep): Promise<void> {
    const stream = this.stream;
    const { services } = stream;
    const ip = stream.transport.remoteAddress;
    const host = stream.session.host!;
    // XEP-0388 §4: "Any non-empty authorization string MUST be considered
    // an error if the stream's from attribute (if present) does not match."
    if (
      step.kind === "success" && this.#authenticate && step.authzid !== undefined &&
      !fromMatches(stream.streamFrom, step.username, host)
    ) {
      step = {
        kind: "failure",
        condition: "invalid-authzid",
        text: "The authorization identity is not the stream's from",
        username: step.username,
      };
    }
    // A multi-step exchange checked the proof against the credentials read
    // at its first step: an account removed since then, or being removed
    // (its credentials go last), must not log in: it would bind a resource
    // of an account that is gone. Checked after the await, in the same
    // turn as the session takes the username that removal looks for.
    if (
      step.kind === "success" &&
      (!(await services.auth.userExists(host, step.username)) ||
        services.sessions.isBeingRemoved(host, step.username))
    ) {
      if (stream.closed) return;
      step = {
        kind: "failure",
        condition: "not-authorized",
        text: "No such account",
        username: step.username,
      };
    }
    switch (step.kind) {
      case "challenge":
        stream.send(
          this.#authenticate
            ? sasl2Challenge(encodeBase64(step.data))
            : el("challenge", { xmlns: NS.sasl }, encodeBase64(step.data)),
        );
        return;
      case "failure": {
        this.#sasl = undefined;
        // Only a checked credential counts towards throttling: a client
        // probing mechanisms or channel-binding types guesses no password,
        // and a storage outage (temporary-auth-failure) is not the user's.
        if (step.username && step.condition !== "temporary-auth-failure") {
          const account = step.username + "@" + host;
          const refused = services.loginThrottle.refusal(account, ip);
          services.loginThrottle.failed(account, ip);
          // Past a limit a wrong password gets the same answer as a right one.
          if (refused) return this.#throttled(account, refused);
        }
        log.info("{ip}: authentication failed for {user}: {condition} ({text})", {
          ip,
          user: step.username ?? "?",
          condition: step.condition,
          text: step.text ?? "",
        });
        return this.#saslFailure(step.condition, step.text);
      }
      case "success": {
        this.#sasl = undefined;
        const account = step.username + "@" + host;
        const refused = services.loginThrottle.refusal(account, ip);
        if (refused) return this.#throttled(account, refused);
        services.loginThrottle.succeeded(account, ip);
        counters.countAuth();
        stream.transport.authenticated();
        const session = stream.session;
        session.type = "c2s";
        session.username = step.username;
        const authenticate = this.#authenticate;
        if (authenticate) {
          this.#authenticate = undefined;
          log.info("{account} authenticated from {ip} (SASL2)", { account, ip });
          await services.hosts.get(host)!.events.fire("authentication-success", { session });
          if (stream.closed) return;
          return await completeSasl2(stream, authenticate, this.#mechanism, step.data);
        }
        // The client's next bytes open a new stream (RFC 6120 §6.4.6).
        stream.restart();
        session.notopen = true;
        stream.send(el(
          "success",
          { xmlns: NS.sasl },
          step.data && step.data.length ? encodeBase64(step.data) : undefined,
        ));
        log.info("{account} authenticated from {ip}", { account, ip });
        await services.hosts.get(host)!.events.fire("authentication-success", { session });
        return;
      }
    }
  }

  /** A verdict withheld by the login throttle (see LoginThrottle). */
  #throttled(account: string, limit: ThrottleRefusal): void {
    const ip = this.stream.transport.remoteAddress;
    // Keyed like the limit that refused: an account-wide refusal is logged
    // once per window however many addresses try.
    const key = limit === "account"
      ? accountKey(account)
      : limit === "ip"
      ? addressKey(ip)
      : accountKey(account) + " " + addressKey(ip);
    const silent = refusedLogins.note(limit + " " + key);
    if (silent !== undefined) {
      log.warn(
        "{account} from {ip}: authentication refused: too many failures ({limit}); " +
          "{silent} refused since the last such line; quiet for {window} s",
        { account, ip, limit, silent, window: refusedLogins.windowMs / 1000 },
      );
    }
    this.#saslFailure(
      "temporary-auth-failure",
      "Too many failed attempts; try again later",
      "throttled",
    );
  }

  #countAttempt(): void {
    if (++this.#authAttempts >= MAX_AUTH_ATTEMPTS) {
      throw new StreamError("policy-violation", "Too many failed authentication attempts");
    }
  }
}

/** Whether a header's `from` (when there is one) names the account `username`@`host`. */
function fromMatches(from: string | undefined, username: string, host: string): boolean {
  if (from === undefined) return true;
  const jid = parseJid(from);
  return jid !== undefined && jid.local === username &&
    jid.domain === (prepDomain(host) ?? host);
}
