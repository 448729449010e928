/**
 * Temporary TURN credentials by the shared-secret scheme of the "TURN REST
 * API" draft, as coturn checks them with `use-auth-secret`: the username
 * is `<expiry unix time>:<user>`, the password base64(HMAC-SHA1(secret,
 * username)). The TURN server recomputes the password from the username
 * and its copy of the secret, and refuses it once the expiry has passed,
 * so no state is shared beyond the secret.
 */
import { encodeBase64 } from "../../util/base64.ts";

export interface TurnCredentials {
  username: string;
  password: string;
  /** When they stop working (the time in the username). */
  expires: Date;
}

export async function turnCredentials(
  secret: string,
  user: string,
  lifetimeSeconds: number,
  now = Date.now(),
): Promise<TurnCredentials> {
  const expiry = Math.floor(now / 1000) + lifetimeSeconds;
  const username = `${expiry}:${user}`;
  return {
    username,
    password: await turnPassword(secret, username),
    expires: new Date(expiry * 1000),
  };
}

/** base64(HMAC-SHA1(secret, username)). */
export async function turnPassword(secret: string, username: string): Promise<string> {
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(username));
  return encodeBase64(new Uint8Array(mac));
}
