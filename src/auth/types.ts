/** The contracts between SASL, account storage and the stream handler. */

export type ScramHash = "SHA-1" | "SHA-256";

/** What a SCRAM server needs for one hash; the password is never stored. */
export interface ScramCredentials {
  /** base64 */
  salt: string;
  iterations: number;
  /** base64 */
  storedKey: string;
  /** base64 */
  serverKey: string;
}

export interface AuthProvider {
  readonly name: string;
  /** SASL mechanisms this provider can serve (before TLS/-PLUS filtering). */
  readonly mechanisms: readonly string[];
  userExists(host: string, username: string): Promise<boolean>;
  /** Undefined when the user does not exist. */
  getScramCredentials(
    host: string,
    username: string,
    hash: ScramHash,
  ): Promise<ScramCredentials | undefined>;
  /** For PLAIN. `username` and `password` are already SASLprep'd. */
  testPassword(host: string, username: string, password: string): Promise<boolean>;
  /** Creates the account; false when it already exists. */
  createUser(host: string, username: string, password: string): Promise<boolean>;
  /** Replaces the credentials; false when the user does not exist. */
  setPassword(host: string, username: string, password: string): Promise<boolean>;
  /** Removes the account's credentials (the caller removes its other data). */
  deleteUser(host: string, username: string): Promise<boolean>;
}

export type SaslFailureCondition =
  | "aborted"
  | "account-disabled"
  | "credentials-expired"
  | "encryption-required"
  | "incorrect-encoding"
  | "invalid-authzid"
  | "invalid-mechanism"
  | "malformed-request"
  | "mechanism-too-weak"
  | "not-authorized"
  | "temporary-auth-failure";

export type SaslStep =
  | { kind: "challenge"; data: Uint8Array }
  | {
    kind: "success";
    username: string;
    data?: Uint8Array;
    /** The client's authorization identity, when it sent a non-empty one. */
    authzid?: string;
  }
  | { kind: "failure"; condition: SaslFailureCondition; text?: string; username?: string };

/** What the stream knows that a mechanism may need. */
export interface SaslContext {
  host: string;
  provider: AuthProvider;
  /** True when the stream is encrypted. */
  secure: boolean;
  /**
   * `tls-server-end-point` data (RFC 5929), given only where the SASL
   * profile offers channel binding: its presence is what offering -PLUS
   * means, both for the mechanism list and for refusing the `y` flag
   * (RFC 5802 §6). Absent in SASL1 (see the c2s stream handler).
   */
  tlsServerEndPoint?: Uint8Array;
  /**
   * What the stream advertised (XEP-0474 SSDP): SCRAM puts a hash of it
   * in its server-first message, so a client notices a list someone
   * shortened on the way (a downgrade to a weaker mechanism or binding).
   */
  advertised?: { mechanisms: readonly string[]; channelBindings: readonly string[] };
}

/** One authentication exchange of one mechanism. */
export interface SaslExchange {
  /** `data` is the decoded client message (null for an absent initial response). */
  step(data: Uint8Array | null): Promise<SaslStep>;
}
