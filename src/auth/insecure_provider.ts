/**
 * For test deployments only: every password is accepted, and an unknown
 * username becomes an account (keyed with that first password) on its
 * first login. Offers PLAIN alone, since SCRAM needs keys before login.
 */
import { logger } from "../log.ts";
import type { StorageDriver } from "../storage/types.ts";
import { InternalAuthProvider, type InternalAuthProviderOptions } from "./internal_provider.ts";
import type { AuthProvider, ScramCredentials, ScramHash } from "./types.ts";

export class InsecureAuthProvider implements AuthProvider {
  readonly name: string = "insecure";
  readonly mechanisms: readonly string[] = ["PLAIN"];
  readonly #accounts: InternalAuthProvider;

  constructor(storage: StorageDriver, options: InternalAuthProviderOptions = {}) {
    this.#accounts = new InternalAuthProvider(storage, options);
    // Loud on purpose: this must never go unnoticed on a real server.
    logger("auth").warn(
      "INSECURE auth provider: ANY password is accepted for ANY account and unknown " +
        "accounts are created on first login. Use only for test deployments.",
    );
  }

  userExists(host: string, username: string): Promise<boolean> {
    return this.#accounts.userExists(host, username);
  }

  getScramCredentials(
    host: string,
    username: string,
    hash: ScramHash,
  ): Promise<ScramCredentials | undefined> {
    return this.#accounts.getScramCredentials(host, username, hash);
  }

  async testPassword(host: string, username: string, password: string): Promise<boolean> {
    if (await this.#accounts.userExists(host, username)) return true;
    try {
      // false means a concurrent login created it first: still accepted.
      await this.#accounts.createUser(host, username, password);
    } catch {
      return false; // not a valid username, or a password SASLprep refuses
    }
    return true;
  }

  createUser(host: string, username: string, password: string): Promise<boolean> {
    return this.#accounts.createUser(host, username, password);
  }

  setPassword(host: string, username: string, password: string): Promise<boolean> {
    return this.#accounts.setPassword(host, username, password);
  }

  deleteUser(host: string, username: string): Promise<boolean> {
    return this.#accounts.deleteUser(host, username);
  }
}
