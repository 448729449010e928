/**
 * Failed-login throttling with three counters, so that nobody can lock an
 * account out by failing on purpose:
 *
 * - per client address: one address guesses at most `perIp` times per
 *   window, whatever the accounts (password spraying);
 * - per (account, address): one address guesses one account's password
 *   at most `perIpAndAccount` times; other addresses are not affected, so
 *   the owner still logs in while someone else fails from elsewhere;
 * - per account, all addresses together: a much higher ceiling that caps
 *   a guessing campaign spread over many addresses. Reaching it does lock
 *   the account for the rest of the window, which takes many addresses
 *   (at least `perAccount / perIpAndAccount`) within one window.
 *
 * ejabberd (mod_fail2ban: 20 failures, then the address is banned for an
 * hour) and Prosody (mod_limit_auth: 5 failures per 30 s) key on the
 * address only, never on the account alone, for the same reason: a
 * per-account lockout is a denial of service anyone can trigger.
 *
 * Every limit is judged once the account is known, whatever the
 * credential's verdict, and past a limit the answer is the same for a
 * right and a wrong password: a refusal must not become an oracle that
 * tells a throttled guesser which guess was right.
 */
import { addressKey } from "../net/address_key.ts";
import { createHash } from "node:crypto";
import { FailureThrottle } from "./throttle.ts";

export interface ThrottleLimit {
  maxFailures: number;
  windowSeconds: number;
}

export interface LoginThrottleLimits {
  perIp: ThrottleLimit;
  perIpAndAccount: ThrottleLimit;
  perAccount: ThrottleLimit;
}

/** Which limit refused a login (for the log). */
export type ThrottleRefusal = "ip" | "ip-and-account" | "account";

export class LoginThrottle {
  readonly #ip: FailureThrottle;
  readonly #ipAndAccount: FailureThrottle;
  readonly #account: FailureThrottle;

  constructor(limits: LoginThrottleLimits, now: () => number = Date.now, maxKeys = 100_000) {
    const make = (l: ThrottleLimit) =>
      new FailureThrottle(l.maxFailures, l.windowSeconds, now, maxKeys);
    this.#ip = make(limits.perIp);
    this.#ipAndAccount = make(limits.perIpAndAccount);
    this.#account = make(limits.perAccount);
  }

  /** Keys tracked by the three counters (for tests and metrics). */
  get size(): number {
    return this.#ip.size + this.#ipAndAccount.size + this.#account.size;
  }

  /** Checked before an exchange starts: an address past its limit is not heard at all. */
  ipBlocked(ip: string): boolean {
    return this.#ip.isBlocked(addressKey(ip));
  }

  /**
   * Checked when an exchange ends with a verdict on `account` (a bare
   * JID), right or wrong: undefined when the verdict may be told. The
   * address limit is checked again here, since exchanges started in
   * parallel all passed `ipBlocked` before any of them failed.
   */
  refusal(account: string, ip: string): ThrottleRefusal | undefined {
    const address = addressKey(ip);
    const user = accountKey(account);
    if (this.#ip.isBlocked(address)) return "ip";
    if (this.#ipAndAccount.isBlocked(user + " " + address)) return "ip-and-account";
    if (this.#account.isBlocked(user)) return "account";
    return undefined;
  }

  failed(account: string, ip: string): void {
    const address = addressKey(ip);
    const user = accountKey(account);
    this.#ip.fail(address);
    this.#ipAndAccount.fail(user + " " + address);
    this.#account.fail(user);
  }

  /**
   * Clears only this (account, address) pair. The address counter stays,
   * or an attacker with an account of their own could reset it between
   * guesses at others; the account ceiling stays, or each of the owner's
   * logins would hand a distributed guesser a fresh budget.
   */
  succeeded(account: string, ip: string): void {
    this.#ipAndAccount.succeed(accountKey(account) + " " + addressKey(ip));
  }
}

/**
 * Accounts may be ~1 KB long (a 1023-byte localpart plus the domain): a
 * fixed-size digest keeps every key short, so the key limit bounds the
 * bytes too. 128 bits leaves collisions out of reach.
 */
export function accountKey(account: string): string {
  return createHash("sha256").update(account).digest("base64").slice(0, 22);
}
