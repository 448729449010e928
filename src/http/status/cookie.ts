/**
 * The status page's login: a signed cookie, `payload.mac` in base64url,
 * where the payload names the admin and the expiry and the MAC is
 * HMAC-SHA256 under a secret kept in the data directory (so logins
 * survive a restart, and no two servers share one). Nothing is kept on
 * the server per login; the admin list is checked again on every request,
 * so removing an admin from the config ends their access.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { loadSecretFile, type SecretFormat } from "../../util/secret_file.ts";

export const COOKIE_NAME = "parley_status";
const SECRET_FILE = "status-secret";

export interface StatusLogin {
  /** The admin's bare JID. */
  jid: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

/**
 * The per-server secret: read from `dataDir/status-secret`, or made (32
 * random bytes, hex, mode 0600) when absent (util/secret_file.ts).
 */
export function loadSecret(dataDir: string): Promise<Uint8Array> {
  return loadSecretFile(join(dataDir, SECRET_FILE), 32, HEX_SECRET);
}

/** 64 hex digits and a newline: an operator can read and replace it. */
const HEX_SECRET: SecretFormat = {
  encode: (secret) => new TextEncoder().encode(Buffer.from(secret).toString("hex") + "\n"),
  decode: (content, path) => {
    const text = new TextDecoder().decode(content).trim();
    if (!/^[0-9a-f]{64}$/.test(text)) throw new Error(`${path} is not a 64-digit hex secret`);
    return new Uint8Array(Buffer.from(text, "hex"));
  },
};

const b64url = (b: Uint8Array | string) => Buffer.from(b).toString("base64url");

function mac(secret: Uint8Array, payload: string): Buffer {
  return createHmac("sha256", secret).update(payload).digest();
}

export function signLogin(secret: Uint8Array, login: StatusLogin): string {
  const payload = b64url(JSON.stringify({ jid: login.jid, exp: login.exp }));
  return payload + "." + b64url(mac(secret, payload));
}

/** The login a cookie value carries, when its MAC is right and it has not expired. */
export function verifyLogin(
  secret: Uint8Array,
  value: string,
  now = Date.now(),
): StatusLogin | undefined {
  if (value.length > 2048) return undefined;
  const dot = value.indexOf(".");
  if (dot <= 0) return undefined;
  const payload = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1), "base64url");
  const expected = mac(secret, payload);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    if (typeof parsed?.jid !== "string" || typeof parsed?.exp !== "number") return undefined;
    if (parsed.exp <= now) return undefined;
    return { jid: parsed.jid, exp: parsed.exp };
  } catch {
    return undefined;
  }
}

/** The named cookie's value from a Cookie header, if present. */
export function readCookie(header: string | null, name = COOKIE_NAME): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a login (Secure when served over HTTPS; loopback plain HTTP cannot take it). */
export function loginCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${COOKIE_NAME}=${value}; Path=/status; Max-Age=${maxAgeSeconds}; HttpOnly; ` +
    `SameSite=Strict${secure ? "; Secure" : ""}`;
}

export function clearCookie(secure: boolean): string {
  return `${COOKIE_NAME}=; Path=/status; Max-Age=0; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}
