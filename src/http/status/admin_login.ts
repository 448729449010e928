/**
 * Checking an admin's XMPP credentials for the status page, with the
 * same failed-login throttle as SASL (one budget per address, whatever
 * the door): the password is tested by the auth provider, as PLAIN does,
 * and the account must be an admin of its host (`admins`, global and the
 * host's own).
 */
import type { AuthProvider } from "../../auth/types.ts";
import type { LoginThrottle } from "../../auth/login_throttle.ts";
import { saslPrep } from "../../auth/scram.ts";
import type { Host } from "../../core/host.ts";
import { inAdminList } from "../../core/host_admins.ts";
import { parseJid } from "../../jid.ts";

export type LoginVerdict =
  | { ok: true; jid: string }
  | { ok: false; reason: "throttled" | "bad-credentials" | "not-admin" | "unavailable" };

export interface AdminLoginDeps {
  hosts: ReadonlyMap<string, Host>;
  auth: AuthProvider;
  throttle: LoginThrottle;
}

/** Whether `bareJid` (prepared) is an admin of its own user host. */
export function isAdmin(hosts: ReadonlyMap<string, Host>, bareJid: string): boolean {
  const jid = parseJid(bareJid);
  if (!jid?.local || jid.resource !== undefined) return false;
  const host = hosts.get(jid.domain);
  return host !== undefined && host.kind === "user" && administers(host, jid.bare);
}

/**
 * Whether `bareJid` is an admin of `host` (a global admin is one of every
 * host): whose users the status page shows it.
 */
export function administers(host: Host, bareJid: string): boolean {
  return inAdminList(host.config.admins, bareJid);
}

export async function checkAdminLogin(
  deps: AdminLoginDeps,
  rawJid: string,
  rawPassword: string,
  ip: string,
): Promise<LoginVerdict> {
  if (deps.throttle.ipBlocked(ip)) return { ok: false, reason: "throttled" };
  const jid = rawJid.length <= 3071 ? parseJid(rawJid.trim()) : undefined;
  const host = jid ? deps.hosts.get(jid.domain) : undefined;
  const password = rawPassword.length <= 1024 ? saslPrep(rawPassword) : undefined;
  if (!jid?.local || !host || host.kind !== "user" || !password) {
    // Counted against the address like any wrong guess.
    deps.throttle.failed(jid?.bare ?? rawJid.slice(0, 3071), ip);
    return { ok: false, reason: "bad-credentials" };
  }
  let ok: boolean;
  try {
    ok = await deps.auth.testPassword(jid.domain, jid.local, password);
  } catch {
    return { ok: false, reason: "unavailable" };
  }
  // Past a limit the answer is the same for a right and a wrong password.
  if (deps.throttle.refusal(jid.bare, ip) !== undefined) return { ok: false, reason: "throttled" };
  if (!ok) {
    deps.throttle.failed(jid.bare, ip);
    return { ok: false, reason: "bad-credentials" };
  }
  deps.throttle.succeeded(jid.bare, ip);
  if (!isAdmin(deps.hosts, jid.bare)) return { ok: false, reason: "not-admin" };
  return { ok: true, jid: jid.bare };
}
