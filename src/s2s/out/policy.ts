/**
 * The decisions of outgoing stream negotiation, apart from the stream's
 * state: whether the stream as it stands meets the security policy, which
 * authentication to try next (SASL EXTERNAL, then dialback), and how the
 * peer's refusals read as failures. Each throws a NegotiationError when
 * the stream cannot go on.
 */
import type { Config } from "../../config/schema.ts";
import type { TlsState } from "../../net/connection.ts";
import type { TrustAnchors } from "../cert_verify.ts";
import { type DialbackVerdict, NS_DIALBACK_FEATURE } from "../common.ts";
import type { Element } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import { NegotiationError } from "./failure.ts";

/** A db:result or db:verify answer's `type`, as a verdict (anything else: error). */
export function verdictOf(type: string | undefined): DialbackVerdict {
  return type === "valid" ? "valid" : type === "invalid" ? "invalid" : "error";
}

/**
 * The stream as it is now (no TLS on offer, or TLS done) must satisfy the
 * policy before anything (dialback keys, db:verify, stanzas) goes out:
 * RFC 6120 §5.3.1, encryption required by default.
 */
export function checkSecurity(
  tls: TlsState | undefined,
  s2s: Config["s2s"],
  anchors: TrustAnchors,
  remote: string,
): void {
  if (!tls) {
    if (s2s.requireEncryption) {
      throw new NegotiationError(
        "policy",
        "the remote server does not offer TLS and s2s.requireEncryption is on",
      );
    }
    if (s2s.requireValidCertificates) {
      throw new NegotiationError(
        "certificate",
        "the remote server does not offer TLS, so no certificate, and " +
          "s2s.requireValidCertificates is on",
        "no TLS, so no certificate",
      );
    }
    return;
  }
  const verdict = anchors.verify(tls.peerChain, remote);
  if (!verdict.ok && s2s.requireValidCertificates) {
    throw new NegotiationError(
      "certificate",
      `its certificate is not valid (${verdict.reason}) and s2s.requireValidCertificates is on`,
      verdict.reason,
    );
  }
}

export interface AuthChoice {
  features: Element;
  /** The peer's header declared the dialback namespace (pre-1.0 servers). */
  peerDialback: boolean;
  encrypted: boolean;
  externalTried: boolean;
  allowDialback: boolean;
}

/** The peer does dialback: its stream feature or, before 1.0, its header's namespace. */
export function offersDialback(features: Element | undefined, peerDialback: boolean): boolean {
  return peerDialback || features?.getChild("dialback", NS_DIALBACK_FEATURE) !== undefined;
}

/**
 * SASL EXTERNAL when offered over TLS and not yet refused; else dialback
 * when both sides do it. Throws when no method is left.
 */
export function chooseAuth(c: AuthChoice): "external" | "dialback" {
  const mechanisms = c.features.getChild("mechanisms", NS.sasl);
  const external = mechanisms?.getChildren("mechanism").some((m) => m.text() === "EXTERNAL");
  if (external && !c.externalTried && c.encrypted) return "external";
  if (!offersDialback(c.features, c.peerDialback)) {
    throw new NegotiationError(
      "auth",
      "no authentication method in common (neither SASL EXTERNAL with our certificate nor dialback)",
    );
  }
  if (!c.allowDialback) {
    throw new NegotiationError("auth", "only dialback is offered and s2s.allowDialback is off");
  }
  return "dialback";
}

/** The peer's `<stream:error/>` during negotiation, as the failure it is. */
export function peerStreamError(e: Element): NegotiationError {
  const cond = e.getChildren().find((c) => c.attrs.xmlns === NS.streams && c.name !== "text");
  const text = e.getChild("text", NS.streams)?.text();
  const name = cond?.name ?? "undefined-condition";
  return new NegotiationError(
    "stream-error",
    `the remote server sent the stream error <${name}/>${text ? ` (${text})` : ""}`,
    name,
  );
}

/** Our own db:result answered with something other than valid. */
export function dialbackRefused(result: Element): NegotiationError {
  const type = result.attrs.type;
  const cond = result.getChild("error")?.getChildren()[0]?.name;
  return new NegotiationError(
    "dialback",
    type === "invalid"
      ? "it refused our dialback key"
      : `it answered our dialback request with an error${cond ? ` <${cond}/>` : ""}`,
    type === "invalid" ? undefined : cond,
  );
}
