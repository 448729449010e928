/**
 * Why an outgoing s2s stream could not be made, and what the log says
 * about it: the kind decides the bounce condition (in the manager) and the
 * remedy the warning offers the administrator.
 */

/**
 * Why a stream could not be made: decides the bounce condition (timeout and
 * shutdown: remote-server-timeout; the rest: remote-server-not-found) and
 * the remedy the log gives (`failureRemedy`).
 */
export type FailureKind =
  /** The domain does not resolve, or DNS says it offers no s2s service. */
  | "dns"
  /** No address accepted a TCP connection. */
  | "connect"
  /** No authenticated stream within s2s.connectTimeoutSeconds. */
  | "timeout"
  /** The TLS handshake (direct or after STARTTLS) failed. */
  | "tls"
  /** Its certificate is not valid for it and s2s.requireValidCertificates is on. */
  | "certificate"
  /** It will not encrypt and s2s.requireEncryption is on. */
  | "policy"
  /** No authentication method in common (or dialback is off here). */
  | "auth"
  /** It refused or could not check our dialback key. */
  | "dialback"
  /** It closed the stream with a stream error (the detail names the condition). */
  | "stream-error"
  /** The connection ended, or the peer broke the protocol, during negotiation. */
  | "closed"
  /** This server is stopping. */
  | "shutdown";

/** A negotiation failure of a known cause, thrown inside the stream's handlers. */
export class NegotiationError extends Error {
  constructor(readonly kind: FailureKind, message: string, readonly detail?: string) {
    super(message);
  }
}

/** Which failure the log and bounce report when every attempt failed differently. */
export const FAILURE_PRECEDENCE: FailureKind[] = ["tls", "timeout", "closed", "connect", "dns"];

/** Error codes of a failed name lookup (node:net). */
export const DNS_ERRORS = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EAI_NODATA",
  "EAI_FAIL",
]);

export function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * What the administrator can do about a failure, for the log line.
 * `detail`: the certificate's problem, or the peer's stream error condition.
 */
export function failureRemedy(kind: FailureKind, remote: string, detail?: string): string {
  switch (kind) {
    case "dns":
      return `Check DNS for ${remote}: its _xmpp-server._tcp / _xmpps-server._tcp SRV records, ` +
        `or A/AAAA records for port 5269 (or add an s2s.hosts route for ${remote}).`;
    case "connect":
      return `Nothing accepted the connection: check that ${remote}'s SRV record (or s2s.hosts ` +
        "route) names the right host and port, that its server is running, and that no " +
        "firewall blocks the port.";
    case "timeout":
      return `Check that ${remote}'s server is up and reachable on its s2s port, or raise ` +
        "s2s.connectTimeoutSeconds.";
    case "tls":
      return `The TLS handshake with ${remote} failed: check that its s2s port speaks TLS as ` +
        "its SRV record says (direct TLS or STARTTLS), that both sides share a TLS version and " +
        "cipher, and that our own certificate and key load.";
    case "certificate":
      return `${remote}'s certificate is not acceptable (${detail ?? "invalid"}): it needs one ` +
        `from a trusted CA that names ${remote}; add a private CA to s2s.caFile, or turn ` +
        "s2s.requireValidCertificates off to accept dialback instead.";
    case "policy":
      return `${remote} does not offer TLS: its administrator must enable TLS for s2s; turning ` +
        "s2s.requireEncryption off here would send everything in the clear.";
    case "auth":
      return `We share no way to authenticate with ${remote}: SASL EXTERNAL needs our ` +
        "certificate to be valid for our domain (from a CA it trusts); dialback needs " +
        "s2s.allowDialback on here and offered there.";
    case "dialback":
      return `${remote} could not verify our dialback key with us: check that our s2s port is ` +
        "reachable from it and that DNS (SRV or A/AAAA) for our domain points at this server.";
    case "stream-error":
      return `${remote} closed the stream with <${detail ?? "undefined-condition"}/>: its ` +
        "server's logs say why (often its certificate or dialback policy, or a host it does " +
        "not serve).";
    case "closed":
      return `${remote}'s server ended the negotiation without saying why: check that an XMPP ` +
        "server listens on that port; its logs may say more.";
    case "shutdown":
      return "";
  }
}
