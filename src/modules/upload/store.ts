/**
 * The files of one upload service on disk, `<dataDir>/uploads/<domain>/`:
 * `<id>.data` (the bytes) beside `<id>.json` (owner, name, size, type,
 * time), with an in-memory index rebuilt from the JSON files at start.
 * A PUT streams into `<id>.part` and is renamed into place only once
 * complete and synced, so a reader never sees half a file and a crash
 * leaves only `.part` leftovers, removed at the next start. Slots granted
 * but not yet used are reservations here: they count against the quotas
 * and say whose a PUT is.
 */
import { join } from "node:path";

export interface FileMeta {
  id: string;
  /** The file name the uploader gave (sanitised); the URL's last segment. */
  name: string;
  /** The uploader's bare JID. */
  owner: string;
  size: number;
  type: string;
  /** Milliseconds since the epoch: when the upload completed. */
  time: number;
}

/** A slot granted and not yet used. */
export interface Reservation {
  id: string;
  name: string;
  owner: string;
  size: number;
  /** The requested content type; "" when none was (the PUT's is kept). */
  type: string;
  /** Unix seconds: the PUT URL's expiry. */
  expires: number;
  /** Milliseconds since the epoch: when the slot was granted (for the daily quota). */
  granted: number;
}

/**
 * "taken": another PUT of the slot is under way or done; "withdrawn": the
 * slot went while its PUT was under way (its owner's account was removed).
 */
export type WriteOutcome = "ok" | "short" | "long" | "taken" | "withdrawn";

const DAY_MS = 86_400_000;
/** Largest metadata file read at start; anything bigger is not ours. */
const MAX_META_BYTES = 16 * 1024;

export class FileStore {
  readonly #files = new Map<string, FileMeta>();
  /** The files of each owner: a slot request reads its owner's, not the whole index. */
  readonly #byOwner = new Map<string, Set<FileMeta>>();
  readonly #reserved = new Map<string, Reservation>();
  readonly #writing = new Set<string>();
  #storedBytes = 0;

  private constructor(readonly dir: string) {}

  /**
   * `tidy` (the server's start): also drop what an interrupted write or
   * removal left. Off for a command that may run beside the server, whose
   * uploads under way look just like such leftovers.
   */
  static async open(dir: string, { tidy = true } = {}): Promise<FileStore> {
    await Deno.mkdir(dir, { recursive: true });
    const store = new FileStore(dir);
    await store.#scan(tidy);
    return store;
  }

  /** Rebuild the index from the complete files (metadata beside data). */
  async #scan(tidy: boolean): Promise<void> {
    const names = new Set<string>();
    for await (const entry of Deno.readDir(this.dir)) if (entry.isFile) names.add(entry.name);
    const drop = (path: string) => tidy ? removeQuietly(path) : Promise.resolve();
    for (const name of names) {
      const path = join(this.dir, name);
      if (name.endsWith(".part")) {
        await drop(path);
      } else if (name.endsWith(".json")) {
        const id = name.slice(0, -5);
        const meta = names.has(`${id}.data`) ? await readMeta(path, id) : undefined;
        if (meta) this.#add(meta);
        else await drop(path);
      } else if (name.endsWith(".data") && !names.has(`${name.slice(0, -5)}.json`)) {
        await drop(path);
      }
    }
  }

  #add(meta: FileMeta): void {
    this.#files.set(meta.id, meta);
    let own = this.#byOwner.get(meta.owner);
    if (!own) this.#byOwner.set(meta.owner, own = new Set());
    own.add(meta);
    this.#storedBytes += meta.size;
  }

  get(id: string): FileMeta | undefined {
    return this.#files.get(id);
  }

  dataPath(id: string): string {
    return join(this.dir, `${id}.data`);
  }

  get fileCount(): number {
    return this.#files.size;
  }

  /** Bytes on disk plus bytes reserved by unused slots. */
  committedBytes(nowMs: number): number {
    this.#pruneReservations(nowMs);
    let total = this.#storedBytes;
    for (const r of this.#reserved.values()) total += r.size;
    return total;
  }

  /**
   * What `owner` uploaded or reserved in the 24 hours before `nowMs`, and
   * when the oldest of it leaves that window (when more may be uploaded).
   */
  usageToday(owner: string, nowMs: number): { bytes: number; oldest?: number } {
    this.#pruneReservations(nowMs);
    const since = nowMs - DAY_MS;
    let bytes = 0;
    let oldest: number | undefined;
    const count = (time: number, size: number) => {
      if (time < since) return;
      bytes += size;
      if (oldest === undefined || time < oldest) oldest = time;
    };
    for (const f of this.#byOwner.get(owner) ?? []) count(f.time, f.size);
    for (const r of this.#reserved.values()) if (r.owner === owner) count(r.granted, r.size);
    return { bytes, oldest: oldest === undefined ? undefined : oldest + DAY_MS };
  }

  /** Unused slots of `owner` right now. */
  reservationsOf(owner: string, nowMs: number): number {
    this.#pruneReservations(nowMs);
    let n = 0;
    for (const r of this.#reserved.values()) if (r.owner === owner) n++;
    return n;
  }

  get reservationCount(): number {
    return this.#reserved.size;
  }

  reserve(r: Reservation): void {
    this.#reserved.set(r.id, r);
  }

  reservation(id: string): Reservation | undefined {
    return this.#reserved.get(id);
  }

  /** Whether a PUT for `id` is under way or done (a second one is a conflict). */
  taken(id: string): boolean {
    return this.#files.has(id) || this.#writing.has(id);
  }

  #pruneReservations(nowMs: number): void {
    const now = Math.floor(nowMs / 1000);
    for (const [id, r] of this.#reserved) {
      if (r.expires < now && !this.#writing.has(id)) this.#reserved.delete(id);
    }
  }

  /**
   * Stream `body` into the reserved file: exactly `r.size` bytes, else
   * nothing is kept and the slot stays usable until it expires. Only the
   * current chunk is ever in memory.
   */
  async write(
    r: Reservation,
    type: string,
    body: ReadableStream<Uint8Array> | null,
    nowMs: () => number,
  ): Promise<WriteOutcome> {
    // Checked and marked with no await between: of two PUTs racing here, one writes.
    if (this.taken(r.id) || !this.#reserved.has(r.id)) return "taken";
    // The reservation stays until the file is in: a PUT under way still
    // counts against the slot and byte quotas (else slow PUTs free them).
    this.#writing.add(r.id);
    const part = join(this.dir, `${r.id}.part`);
    let done = false;
    try {
      const outcome = await writeExactly(part, body, r.size);
      if (outcome !== "ok") return outcome;
      const meta: FileMeta = {
        id: r.id,
        name: r.name,
        owner: r.owner,
        size: r.size,
        type,
        time: nowMs(),
      };
      // Metadata first: a crash between the two renames leaves a .json
      // without .data, which the next start removes.
      await writeAtomically(join(this.dir, `${r.id}.json`), JSON.stringify(meta));
      await Deno.rename(part, this.dataPath(r.id));
      // removeOwner drops the reservation of a PUT under way: what it wrote
      // meanwhile must not outlive the account (nor count for a new one of
      // the same name). Checked with no await before #add.
      if (this.#reserved.get(r.id) !== r) {
        await removeQuietly(this.dataPath(r.id));
        await removeQuietly(join(this.dir, `${r.id}.json`));
        return "withdrawn";
      }
      this.#reserved.delete(r.id);
      this.#add(meta);
      done = true;
      return "ok";
    } finally {
      this.#writing.delete(r.id);
      if (!done) await removeQuietly(part);
    }
  }

  async remove(id: string): Promise<void> {
    const meta = this.#files.get(id);
    if (!meta) return;
    this.#files.delete(id);
    const own = this.#byOwner.get(meta.owner)!;
    own.delete(meta);
    if (own.size === 0) this.#byOwner.delete(meta.owner);
    this.#storedBytes -= meta.size;
    // Data first: a leftover .json without .data is dropped at the next start.
    await removeQuietly(this.dataPath(id));
    await removeQuietly(join(this.dir, `${id}.json`));
  }

  /** Remove every file and slot of `owner`; returns how many files went. */
  async removeOwner(owner: string): Promise<number> {
    for (const [id, r] of this.#reserved) if (r.owner === owner) this.#reserved.delete(id);
    const ids = [...this.#byOwner.get(owner) ?? []].map((f) => f.id);
    for (const id of ids) await this.remove(id);
    return ids.length;
  }

  /** Remove files stored before `beforeMs`; returns how many went. */
  async expire(beforeMs: number, nowMs: number): Promise<number> {
    this.#pruneReservations(nowMs);
    const ids = [...this.#files.values()].filter((f) => f.time < beforeMs).map((f) => f.id);
    for (const id of ids) await this.remove(id);
    return ids.length;
  }
}

/** Stream `body` into a new file at `path`, keeping it only when exactly `size` bytes came. */
async function writeExactly(
  path: string,
  body: ReadableStream<Uint8Array> | null,
  size: number,
): Promise<WriteOutcome> {
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  let written = 0;
  try {
    if (body) {
      for await (const chunk of body) {
        written += chunk.byteLength;
        // Leaving the loop cancels the body: nothing past the slot's size is read.
        if (written > size) return "long";
        for (let off = 0; off < chunk.byteLength;) off += await file.write(chunk.subarray(off));
      }
    }
    if (written !== size) return "short";
    await file.syncData();
    return "ok";
  } finally {
    file.close();
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.${crypto.randomUUID()}.part`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.rename(tmp, path);
}

async function readMeta(path: string, id: string): Promise<FileMeta | undefined> {
  try {
    const stat = await Deno.stat(path);
    if (stat.size > MAX_META_BYTES) return undefined;
    const m = JSON.parse(await Deno.readTextFile(path));
    const ok = m && m.id === id && typeof m.name === "string" && typeof m.owner === "string" &&
      Number.isSafeInteger(m.size) && m.size >= 0 && typeof m.type === "string" &&
      Number.isFinite(m.time);
    return ok ? m as FileMeta : undefined;
  } catch {
    return undefined;
  }
}

async function removeQuietly(path: string): Promise<void> {
  await Deno.remove(path).catch((err) => {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  });
}
