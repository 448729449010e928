/**
 * SCRAM (RFC 5802, RFC 7677) on Web Crypto: credential derivation for
 * storage and the server side of one exchange, with the
 * `tls-server-end-point` channel binding for the -PLUS variants.
 */
import saslprep from "@mongodb-js/saslprep";
import { decodeBase64, encodeBase64 } from "../util/base64.ts";
import { timingSafeEqual } from "node:crypto";
import type {
  SaslContext,
  SaslExchange,
  SaslFailureCondition,
  SaslStep,
  ScramCredentials,
  ScramHash,
} from "./types.ts";
import { isOwnAuthzid, prepareUsername } from "./username.ts";

const KEY_LENGTH: Record<ScramHash, number> = { "SHA-1": 20, "SHA-256": 32 };
const SALT_LENGTH = 16;
/** The only binding we can compute: Deno exposes neither tls-unique nor tls-exporter. */
export const CHANNEL_BINDING_TYPE = "tls-server-end-point";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/**
 * SASLprep (RFC 4013); undefined when the string holds prohibited
 * characters. Queries (what a client sends) allow unassigned code points,
 * stored strings (passwords being set) do not, as RFC 4013 §2.5 asks.
 */
export function saslPrep(input: string, allowUnassigned = true): string | undefined {
  try {
    return saslprep(input, { allowUnassigned });
  } catch {
    return undefined;
  }
}

/** Comparison whose time does not depend on where the inputs differ. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function bytes(data: Uint8Array | string): Uint8Array<ArrayBuffer> {
  return typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
}

async function hmac(
  hash: ScramHash,
  key: Uint8Array,
  data: Uint8Array | string,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", bytes(key), { name: "HMAC", hash }, false, [
    "sign",
  ]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, bytes(data)));
}

async function digest(hash: ScramHash, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, bytes(data)));
}

async function saltedPassword(
  password: string,
  hash: ScramHash,
  iterations: number,
  salt: Uint8Array,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", bytes(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash, salt: bytes(salt), iterations },
    key,
    KEY_LENGTH[hash] * 8,
  );
  return new Uint8Array(bits);
}

/**
 * The stored form of a password (RFC 5802 §3): salt, iterations,
 * StoredKey = H(HMAC(SaltedPassword, "Client Key")) and
 * ServerKey = HMAC(SaltedPassword, "Server Key"). The password is
 * SASLprep'd as a stored string first; throws when it cannot be (empty or
 * prohibited characters), since such a password could never be typed back.
 */
export async function deriveScramCredentials(
  password: string,
  hash: ScramHash,
  iterations: number,
  salt: Uint8Array = crypto.getRandomValues(new Uint8Array(SALT_LENGTH)),
): Promise<ScramCredentials> {
  const prepared = saslPrep(password, false);
  if (prepared === undefined || prepared === "") {
    throw new Error("password is empty or contains characters SASLprep prohibits");
  }
  const salted = await saltedPassword(prepared, hash, iterations, salt);
  const clientKey = await hmac(hash, salted, "Client Key");
  return {
    salt: encodeBase64(salt),
    iterations,
    storedKey: encodeBase64(await digest(hash, clientKey)),
    serverKey: encodeBase64(await hmac(hash, salted, "Server Key")),
  };
}

// Unknown users get credentials derived from this per-process secret: the
// same salt every time for one name (so repeated probes cannot tell), yet
// unguessable, and no proof can ever match them.
const fakeSecret = crypto.getRandomValues(new Uint8Array(32));

async function fakeCredentials(
  hash: ScramHash,
  host: string,
  name: string,
  iterations: number,
): Promise<ScramCredentials> {
  const seed = await hmac("SHA-256", fakeSecret, `${hash}\0${host}\0${name}`);
  const keys = crypto.getRandomValues(new Uint8Array(KEY_LENGTH[hash]));
  return {
    salt: encodeBase64(seed.subarray(0, SALT_LENGTH)),
    iterations,
    storedKey: encodeBase64(keys),
    serverKey: encodeBase64(keys),
  };
}

/** RFC 5802 saslname: "," and "=" travel as "=2C" and "=3D"; any other "=" is an error. */
function decodeSaslName(value: string): string | undefined {
  if (/=(?!2C|3D)/.test(value)) return undefined;
  return value.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

// printable = %x21-2B / %x2D-7E (RFC 5802 §7): visible ASCII without ",".
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;
const EXTENSION = /^[A-Za-z]=/;

export interface ScramExchangeOptions {
  /** Fixed server part of the nonce, for reproducing published test vectors. */
  serverNonce?: string;
  /** Credentials to use instead of asking the provider (tests). */
  credentials?: ScramCredentials;
  /**
   * Iteration count announced for unknown users; should equal the count
   * new credentials are stored with, or the count itself reveals existence.
   */
  fakeIterations?: number;
}

interface FirstMessage {
  gs2Header: string;
  authzid: string;
  bare: string;
  authcid: string;
  clientNonce: string;
}

type ParseResult<T> = { ok: true; value: T } | { ok: false; step: SaslStep };

function fail(condition: SaslFailureCondition, text?: string, username?: string): SaslStep {
  return { kind: "failure", condition, text, username };
}

/**
 * XEP-0474 (SSDP) as versions 0.3.x have it: the hash, with the
 * mechanism's own hash function, of the advertised mechanisms and
 * channel-binding types, each list sorted and comma-joined, the two
 * joined by "|"; base64 in the `d` attribute. Kept beside `h` (below) for
 * clients written against 0.3.
 */
export async function downgradeHash(
  hash: ScramHash,
  advertised: { mechanisms: readonly string[]; channelBindings: readonly string[] },
): Promise<string> {
  const text = [...advertised.mechanisms].sort().join(",") + "|" +
    [...advertised.channelBindings].sort().join(",");
  return encodeBase64(await digest(hash, encoder.encode(text)));
}

/**
 * XEP-0474 (SSDP) 0.4 and later, attribute `h`: the mechanisms sorted
 * ("i;octet": they are ASCII, so code-unit order is octet order) and
 * joined by U+001E; then, only when XEP-0440 advertised channel-binding
 * types, U+001F and those types sorted and joined by U+001E. Neither
 * delimiter can occur in XML, so no name can forge a boundary.
 */
export async function ssdpHash(
  hash: ScramHash,
  advertised: { mechanisms: readonly string[]; channelBindings: readonly string[] },
): Promise<string> {
  let text = [...advertised.mechanisms].sort().join("\x1e");
  if (advertised.channelBindings.length > 0) {
    text += "\x1f" + [...advertised.channelBindings].sort().join("\x1e");
  }
  return encodeBase64(await digest(hash, encoder.encode(text)));
}

/** The server side of one SCRAM exchange (client-first, client-final). */
export class ScramExchange implements SaslExchange {
  #state: "start" | "await-first" | "await-final" | "done" = "start";
  #first?: FirstMessage;
  /** The prepared localpart, when the name could be one. */
  #username?: string;
  #credentials?: ScramCredentials;
  #real = false;
  #nonce = "";
  #serverFirst = "";

  constructor(
    readonly hash: ScramHash,
    readonly plus: boolean,
    private readonly ctx: SaslContext,
    private readonly options: ScramExchangeOptions = {},
  ) {}

  async step(data: Uint8Array | null): Promise<SaslStep> {
    const state = this.#state;
    // Any failure ends the exchange; only the success paths move it on.
    this.#state = "done";
    if (state === "start" && data === null) {
      // No initial response: RFC 6120 §6.4.2 asks for an empty challenge.
      this.#state = "await-first";
      return { kind: "challenge", data: new Uint8Array() };
    }
    if (data === null) return fail("malformed-request", "missing response");
    if (state === "start" || state === "await-first") return await this.#clientFirst(data);
    if (state === "await-final") return await this.#clientFinal(data);
    return fail("malformed-request", "exchange already finished");
  }

  async #clientFirst(data: Uint8Array): Promise<SaslStep> {
    const parsed = this.#parseFirst(data);
    if (!parsed.ok) return parsed.step;
    const first = this.#first = parsed.value;
    this.#username = prepareUsername(first.authcid);
    const { host, provider } = this.ctx;
    let credentials = this.options.credentials;
    if (!credentials && this.#username !== undefined) {
      try {
        credentials = await provider.getScramCredentials(host, this.#username, this.hash);
      } catch {
        return fail("temporary-auth-failure", undefined, this.#username);
      }
    }
    this.#real = credentials !== undefined;
    // Keyed by the prepared name when there is one, as real credentials
    // are: otherwise "Bob" and "bob" would get two made-up salts where an
    // account's spellings share one, and comparing them would tell
    // accounts from made-up names.
    this.#credentials = credentials ??
      await fakeCredentials(
        this.hash,
        host,
        this.#username ?? first.authcid,
        this.options.fakeIterations ?? 4096,
      );
    const serverNonce = this.options.serverNonce ??
      encodeBase64(crypto.getRandomValues(new Uint8Array(18)));
    this.#nonce = first.clientNonce + serverNonce;
    const c = this.#credentials;
    this.#serverFirst = `r=${this.#nonce},s=${c.salt},i=${c.iterations}`;
    const advertised = this.ctx.advertised;
    if (advertised) {
      this.#serverFirst += `,d=${await downgradeHash(this.hash, advertised)}` +
        `,h=${await ssdpHash(this.hash, advertised)}`;
    }
    this.#state = "await-final";
    return { kind: "challenge", data: encoder.encode(this.#serverFirst) };
  }

  #parseFirst(data: Uint8Array): ParseResult<FirstMessage> {
    const malformed = (text: string) => ({
      ok: false as const,
      step: fail("malformed-request", text),
    });
    let text: string;
    try {
      text = strictDecoder.decode(data);
    } catch {
      return malformed("not UTF-8");
    }
    const comma1 = text.indexOf(",");
    const comma2 = text.indexOf(",", comma1 + 1);
    if (comma1 < 0 || comma2 < 0) return malformed("no GS2 header");
    const cbFlag = text.slice(0, comma1);
    const authzidField = text.slice(comma1 + 1, comma2);
    const checked = this.#checkChannelBindingFlag(cbFlag);
    if (checked) return { ok: false, step: checked };

    let authzid = "";
    if (authzidField !== "") {
      if (!authzidField.startsWith("a=")) return malformed("bad authzid field");
      const decoded = decodeSaslName(authzidField.slice(2));
      if (decoded === undefined || decoded === "") return malformed("bad authzid");
      authzid = decoded;
    }

    const bare = text.slice(comma2 + 1);
    const fields = bare.split(",");
    // "m=" announces a mandatory extension; we know none, so we must refuse.
    if (fields[0].startsWith("m=")) return malformed("unsupported mandatory extension");
    if (fields.length < 2 || !fields[0].startsWith("n=") || !fields[1].startsWith("r=")) {
      return malformed("expected n= and r=");
    }
    if (!fields.slice(2).every((f) => EXTENSION.test(f))) return malformed("bad extension");
    const name = decodeSaslName(fields[0].slice(2));
    const authcid = name === undefined ? undefined : saslPrep(name);
    if (!authcid) return malformed("bad username");
    const clientNonce = fields[1].slice(2);
    if (!NONCE.test(clientNonce)) return malformed("bad nonce");
    return {
      ok: true,
      value: { gs2Header: text.slice(0, comma2 + 1), authzid, bare, authcid, clientNonce },
    };
  }

  /** The GS2 channel-binding flag against what this mechanism and connection allow. */
  #checkChannelBindingFlag(flag: string): SaslStep | undefined {
    if (flag === "n" || flag === "y") {
      if (this.plus) return fail("malformed-request", "-PLUS requires channel binding");
      // "y": the client could bind but believes we cannot. Where -PLUS was
      // offered that belief can only come from someone who removed it from
      // the list on the way, so RFC 5802 §6 makes the server fail. Where
      // it was not offered (SASL1 here, see c2s.ts), "y" is simply true.
      if (flag === "y" && this.ctx.tlsServerEndPoint) {
        return fail("malformed-request", "channel binding was offered: downgrade refused");
      }
      return undefined;
    }
    if (!flag.startsWith("p=")) return fail("malformed-request", "bad channel binding flag");
    if (!this.plus) return fail("malformed-request", "channel binding needs a -PLUS mechanism");
    if (flag.slice(2) !== CHANNEL_BINDING_TYPE) {
      return fail("not-authorized", "unsupported channel binding type");
    }
    if (!this.ctx.tlsServerEndPoint) return fail("invalid-mechanism", "no channel binding data");
    return undefined;
  }

  async #clientFinal(data: Uint8Array): Promise<SaslStep> {
    const first = this.#first!;
    const credentials = this.#credentials!;
    const username = this.#username;
    let text: string;
    try {
      text = strictDecoder.decode(data);
    } catch {
      return fail("malformed-request", "not UTF-8", username);
    }
    const fields = text.split(",");
    const last = fields[fields.length - 1];
    if (
      fields.length < 3 || !fields[0].startsWith("c=") || !fields[1].startsWith("r=") ||
      !last.startsWith("p=") ||
      !fields.slice(2, -1).every((f) => EXTENSION.test(f) && !f.startsWith("p="))
    ) {
      return fail("malformed-request", "expected c=, r= and p=", username);
    }
    const binding = decodeBase64(fields[0].slice(2));
    const proof = decodeBase64(last.slice(2));
    if (!binding || !proof) return fail("malformed-request", "bad base64", username);

    const header = encoder.encode(first.gs2Header);
    const cbData = this.plus ? this.ctx.tlsServerEndPoint! : new Uint8Array();
    const expected = new Uint8Array(header.length + cbData.length);
    expected.set(header);
    expected.set(cbData, header.length);
    if (!constantTimeEqual(binding, expected)) {
      return fail("not-authorized", "channel binding mismatch", username);
    }
    if (fields[1].slice(2) !== this.#nonce) {
      return fail("not-authorized", "nonce mismatch", username);
    }

    const withoutProof = text.slice(0, text.length - last.length - 1);
    const authMessage = `${first.bare},${this.#serverFirst},${withoutProof}`;
    const storedKey = decodeBase64(credentials.storedKey)!;
    const signature = await hmac(this.hash, storedKey, authMessage);
    // Unknown users run the same computation against their fake keys.
    let verified = proof.length === signature.length;
    const clientKey = new Uint8Array(signature.length);
    for (let i = 0; i < signature.length; i++) clientKey[i] = signature[i] ^ (proof[i] ?? 0);
    verified = constantTimeEqual(await digest(this.hash, clientKey), storedKey) && verified &&
      this.#real;
    if (!verified || username === undefined) return fail("not-authorized", undefined, username);
    if (!isOwnAuthzid(first.authzid, username, this.ctx.host)) {
      return fail("invalid-authzid", undefined, username);
    }
    const serverKey = decodeBase64(credentials.serverKey)!;
    const serverSignature = await hmac(this.hash, serverKey, authMessage);
    return {
      kind: "success",
      username,
      ...(first.authzid !== "" ? { authzid: first.authzid } : {}),
      data: encoder.encode(`v=${encodeBase64(serverSignature)}`),
    };
  }
}
