/**
 * Accounts kept in our own storage, as SCRAM salted keys only (one set
 * per hash) so a leaked database does not leak passwords. PLAIN logins are
 * checked by re-deriving the key with the stored salt and iterations.
 */
import type { Json, KeyValStore, StorageDriver } from "../storage/types.ts";
import { constantTimeEqual, deriveScramCredentials } from "./scram.ts";
import { decodeBase64 } from "../util/base64.ts";
import type { AuthProvider, ScramCredentials, ScramHash } from "./types.ts";
import { prepareUsername } from "./username.ts";

/**
 * What `storage.keyval(host, "accounts")` holds per user. Accounts imported
 * from Prosody (`parley import prosody`) have only the SCRAM-SHA-1 keys
 * Prosody kept: SHA-256 keys need the password, so they are added at the
 * account's first PLAIN login (or password change).
 */
export interface AccountRecord {
  "SCRAM-SHA-1": ScramCredentials;
  "SCRAM-SHA-256"?: ScramCredentials;
  /** ms since the epoch */
  created: number;
  updated: number;
}

export interface InternalAuthProviderOptions {
  /** PBKDF2 iterations for newly stored keys (config.auth.scramIterations). Default 4096. */
  iterations?: number;
  now?: () => number;
}

const HASHES: readonly ScramHash[] = ["SHA-1", "SHA-256"];

function isCredentials(v: Json | undefined): v is Json & ScramCredentials {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  return typeof v.salt === "string" && typeof v.iterations === "number" &&
    typeof v.storedKey === "string" && typeof v.serverKey === "string";
}

function asRecord(v: Json | undefined): AccountRecord | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const sha1 = v["SCRAM-SHA-1"];
  const sha256 = v["SCRAM-SHA-256"];
  if (!isCredentials(sha1) || (sha256 !== undefined && !isCredentials(sha256))) return undefined;
  const created = typeof v.created === "number" ? v.created : 0;
  const updated = typeof v.updated === "number" ? v.updated : created;
  return { "SCRAM-SHA-1": sha1, "SCRAM-SHA-256": sha256, created, updated };
}

/** The stored record of an account whose SCRAM-SHA-1 keys came from elsewhere (an import). */
export function importedAccountRecord(sha1: ScramCredentials, created: number, now: number): Json {
  return { "SCRAM-SHA-1": { ...sha1 }, created, updated: now };
}

/** The caller promises a prepared localpart; anything else is a bug or an attack. */
function isPrepared(username: string): boolean {
  return username !== "" && prepareUsername(username) === username;
}

export class InternalAuthProvider implements AuthProvider {
  readonly name: string = "internal";
  readonly mechanisms: readonly string[] = [
    "SCRAM-SHA-256-PLUS",
    "SCRAM-SHA-1-PLUS",
    "SCRAM-SHA-256",
    "SCRAM-SHA-1",
    "PLAIN",
  ];
  readonly iterations: number;
  #now: () => number;
  /** Per-account queues: KeyValStore has no compare-and-set, so writers take turns. */
  #locks = new Map<string, Promise<void>>();
  /** A fixed salt for checking passwords of unknown users (see testPassword). */
  #dummySalt = crypto.getRandomValues(new Uint8Array(16));

  constructor(private readonly storage: StorageDriver, options: InternalAuthProviderOptions = {}) {
    this.iterations = options.iterations ?? 4096;
    this.#now = options.now ?? Date.now;
  }

  #store(host: string): KeyValStore {
    return this.storage.keyval(host, "accounts");
  }

  async #read(host: string, username: string): Promise<AccountRecord | undefined> {
    if (!isPrepared(username)) return undefined;
    return asRecord(await this.#store(host).get(username));
  }

  async userExists(host: string, username: string): Promise<boolean> {
    return (await this.#read(host, username)) !== undefined;
  }

  async getScramCredentials(
    host: string,
    username: string,
    hash: ScramHash,
  ): Promise<ScramCredentials | undefined> {
    return (await this.#read(host, username))?.[`SCRAM-${hash}`];
  }

  async testPassword(host: string, username: string, password: string): Promise<boolean> {
    const record = await this.#read(host, username);
    // Unknown users pay for a PBKDF2 run too, so the answer's timing does
    // not tell which accounts exist. Imported accounts have SHA-1 keys only.
    const hash: ScramHash = record && !record["SCRAM-SHA-256"] ? "SHA-1" : "SHA-256";
    const stored = record?.[`SCRAM-${hash}`];
    const salt = stored ? decodeBase64(stored.salt) : this.#dummySalt;
    if (!salt) return false;
    let derived: ScramCredentials;
    try {
      derived = await deriveScramCredentials(
        password,
        hash,
        stored?.iterations ?? this.iterations,
        salt,
      );
    } catch {
      return false; // not SASLprep-able: no stored password can match
    }
    const expected = decodeBase64(stored?.storedKey ?? "") ?? new Uint8Array();
    const actual = decodeBase64(derived.storedKey)!;
    const ok = constantTimeEqual(actual, expected) && stored !== undefined;
    if (ok && hash === "SHA-1") await this.#addSha256(host, username, password, stored);
    return ok;
  }

  /**
   * An imported account's first PLAIN login: the password is known, so
   * SHA-256 keys are added — to the record the password was checked
   * against only. Another process (`parley passwd` while the server runs)
   * may change the record while the keys are derived, so it is read again
   * after that, right before the write: writing the stale record back
   * would restore the old password.
   */
  async #addSha256(
    host: string,
    username: string,
    password: string,
    checked: ScramCredentials,
  ): Promise<void> {
    try {
      await this.#exclusive(host, username, async () => {
        const sha256 = await deriveScramCredentials(password, "SHA-256", this.iterations);
        const record = await this.#read(host, username);
        if (!record || record["SCRAM-SHA-256"]) return;
        if (record["SCRAM-SHA-1"].storedKey !== checked.storedKey) return;
        await this.#store(host).set(username, {
          ...record,
          "SCRAM-SHA-256": { ...sha256 },
        } as unknown as Json);
      });
    } catch {
      // The login stands; the keys are added at a later one.
    }
  }

  async #credentials(password: string, created: number): Promise<Json> {
    const [sha1, sha256] = await Promise.all(
      HASHES.map((h) => deriveScramCredentials(password, h, this.iterations)),
    );
    const json = (c: ScramCredentials) => ({ ...c });
    return {
      "SCRAM-SHA-1": json(sha1),
      "SCRAM-SHA-256": json(sha256),
      created,
      updated: this.#now(),
    };
  }

  async createUser(host: string, username: string, password: string): Promise<boolean> {
    if (!isPrepared(username)) throw new Error(`not a valid username: ${JSON.stringify(username)}`);
    return await this.#exclusive(host, username, async () => {
      if (await this.#read(host, username)) return false;
      await this.#store(host).set(username, await this.#credentials(password, this.#now()));
      return true;
    });
  }

  setPassword(host: string, username: string, password: string): Promise<boolean> {
    return this.#exclusive(host, username, async () => {
      const record = await this.#read(host, username);
      if (!record) return false;
      await this.#store(host).set(username, await this.#credentials(password, record.created));
      return true;
    });
  }

  deleteUser(host: string, username: string): Promise<boolean> {
    return this.#exclusive(host, username, async () => {
      if (!(await this.#read(host, username))) return false;
      await this.#store(host).set(username, undefined);
      return true;
    });
  }

  async #exclusive<T>(host: string, username: string, fn: () => Promise<T>): Promise<T> {
    const key = `${host}\0${username}`;
    const previous = this.#locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((r) => release = r));
    this.#locks.set(key, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (this.#locks.get(key) === mine) this.#locks.delete(key);
    }
  }
}
