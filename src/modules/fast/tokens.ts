/**
 * FAST tokens (XEP-0484) of one host: one record per account and client
 * installation (user agent id), holding at most two tokens — the one in
 * use and the one issued to replace it, which retires the first when it
 * is used once (XEP-0484 §… rotation: a client that missed the new token
 * can still log in with the old one).
 *
 * Nothing stored can be used as a token. HT-* (draft-schmaus-kitten-
 * sasl-ht) keys an HMAC with the token itself, so the server must be able
 * to recompute it: a token is HMAC(server secret, token id), where the
 * secret lives in a file in the data directory (`fast-token.key`, 0600)
 * and only the random id and SHA-256 of the token reach the database. A
 * copy of the database alone holds no token; a token whose hash does not
 * match what was stored is refused.
 *
 * A token is bound to the password it was issued under (a fingerprint of
 * the stored SCRAM credentials): any password change, by IBR, ad-hoc
 * command or CLI, makes every older token useless without an event.
 */
import { createHash, createHmac } from "node:crypto";
import type { MapStore } from "../../storage/types.ts";
import type { AuthProvider } from "../../auth/types.ts";
import { decodeBase64, encodeBase64 } from "../../util/base64.ts";
import { constantTimeEqual } from "../../auth/scram.ts";
import { loadSecretFile } from "../../util/secret_file.ts";

/** The token each recent FAST login used, until that login's new token is issued. */
const MAX_RECENT = 10_000;
/**
 * Installations (user agent ids) holding tokens, per account. The id is
 * the client's choice: without a bound, one account logging in with a
 * new id each time would grow the store without end. Past it, a new
 * installation's token replaces the tokens of the one expiring first.
 */
export const MAX_AGENTS_PER_USER = 32;

interface StoredToken {
  id: string;
  /** SHA-256 of the token, base64. */
  hash: string;
  /** ms since the epoch. */
  expires: number;
  /** The password fingerprint when issued. */
  credentials: string;
  /**
   * The HT-* mechanism the client asked for it with: XEP-0484 §4.4 binds a
   * token to it ("an attempt to use a mechanism without channel binding
   * MUST fail"), so a token meant for -ENDP is no token for -NONE.
   * Absent on tokens stored before the rule was kept: any mechanism.
   */
  mechanism?: string;
}

export interface TokenMatch {
  token: Uint8Array;
}

export class FastTokens {
  /** (account, installation) → id of the token its last login used; bounded, oldest out. */
  readonly #recent = new Map<string, string>();

  constructor(
    readonly store: MapStore,
    readonly secret: Uint8Array,
    readonly auth: AuthProvider,
    readonly host: string,
    readonly tokenDays: number,
    readonly now: () => number = Date.now,
  ) {}

  /** The store key of one installation: a fixed-size digest of its user agent id. */
  static agentKey(userAgentId: string): string {
    return createHash("sha256").update(userAgentId).digest("base64url");
  }

  /** The token as the client holds it: a string, whose UTF-8 bytes key HT's HMAC. */
  #token(id: string): Uint8Array {
    const mac = new Uint8Array(createHmac("sha256", this.secret).update(id).digest());
    return new TextEncoder().encode(encodeBase64(mac));
  }

  async #fingerprint(username: string): Promise<string> {
    const c = await this.auth.getScramCredentials(this.host, username, "SHA-256");
    return c ? createHash("sha256").update(c.salt + "\0" + c.storedKey).digest("base64") : "";
  }

  async #load(username: string, agent: string): Promise<StoredToken[]> {
    const value = await this.store.get(username, agent);
    return Array.isArray(value) ? (value as unknown as StoredToken[]) : [];
  }

  /** A new token for this installation; the newest earlier one stays until this one is used. */
  async issue(
    username: string,
    userAgentId: string,
    mechanism?: string,
  ): Promise<{ token: string; expires: number }> {
    const agent = FastTokens.agentKey(userAgentId);
    const id = encodeBase64(crypto.getRandomValues(new Uint8Array(18)));
    const token = this.#token(id);
    const expires = this.now() + this.tokenDays * 86_400_000;
    const entry: StoredToken = {
      id,
      hash: createHash("sha256").update(token).digest("base64"),
      expires,
      credentials: await this.#fingerprint(username),
      ...(mechanism !== undefined ? { mechanism } : {}),
    };
    const live = (await this.#load(username, agent)).filter((t) => t.expires > this.now());
    // Kept beside the new token: the one this login used (the client may
    // miss the answer carrying the new one), else the newest earlier one.
    const usedId = this.#recent.get(username + "\0" + agent);
    this.#recent.delete(username + "\0" + agent);
    const used = live.find((t) => t.id === usedId) ?? live.at(-1);
    const next = used ? [used, entry] : [entry];
    if (!used) await this.#makeRoom(username, agent);
    await this.store.set(username, agent, next as unknown as never);
    return { token: new TextDecoder().decode(token), expires };
  }

  /** Before a new installation's first token: expired records go, and the oldest past the bound. */
  async #makeRoom(username: string, agent: string): Promise<void> {
    const now = this.now();
    const others: [string, number][] = [];
    for (const [key, value] of await this.store.getAll(username)) {
      if (key === agent) continue;
      const tokens = Array.isArray(value) ? (value as unknown as StoredToken[]) : [];
      const expires = Math.max(0, ...tokens.map((t) => t.expires));
      if (expires <= now) await this.store.set(username, key, undefined);
      else others.push([key, expires]);
    }
    if (others.length < MAX_AGENTS_PER_USER) return;
    others.sort((a, b) => a[1] - b[1]);
    for (const [key] of others.slice(0, others.length - MAX_AGENTS_PER_USER + 1)) {
      await this.store.set(username, key, undefined);
    }
  }

  /**
   * The token `verify` accepts (computing the client's HMAC with each
   * candidate, newest first); tokens older than the one used are retired.
   */
  async use(
    username: string,
    userAgentId: string,
    verify: (token: Uint8Array) => Promise<boolean>,
    mechanism?: string,
  ): Promise<TokenMatch | undefined> {
    const agent = FastTokens.agentKey(userAgentId);
    const tokens = await this.#load(username, agent);
    if (tokens.length === 0) return undefined;
    const credentials = await this.#fingerprint(username);
    for (let i = tokens.length - 1; i >= 0; i--) {
      const t = tokens[i];
      if (t.expires <= this.now() || t.credentials !== credentials) continue;
      if (t.mechanism !== undefined && mechanism !== undefined && t.mechanism !== mechanism) {
        continue;
      }
      const token = this.#token(t.id);
      const hash = new Uint8Array(createHash("sha256").update(token).digest());
      const stored = decodeBase64(t.hash) ?? new Uint8Array();
      if (!constantTimeEqual(hash, stored)) continue;
      if (!await verify(token)) continue;
      // The new token was used: older ones retire (XEP-0484 rotation).
      if (i > 0) await this.store.set(username, agent, tokens.slice(i) as unknown as never);
      const key = username + "\0" + agent;
      this.#recent.delete(key);
      this.#recent.set(key, t.id);
      if (this.#recent.size > MAX_RECENT) this.#recent.delete(this.#recent.keys().next().value!);
      return { token };
    }
    return undefined;
  }

  /** `<fast invalidate='true'/>`: this installation's tokens go. */
  async invalidate(username: string, userAgentId: string): Promise<void> {
    await this.store.set(username, FastTokens.agentKey(userAgentId), undefined);
  }

  /** Every token of the account (deleted account). */
  async clear(username: string): Promise<void> {
    await this.store.clear(username);
  }
}

/** The server secret tokens are derived from: read, or created (0600) on first use. */
export function loadSecret(path: string): Promise<Uint8Array> {
  return loadSecretFile(path, 32);
}
