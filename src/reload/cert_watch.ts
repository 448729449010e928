/**
 * Watches the certificate and key files so a renewal (certbot, acme.sh, a
 * copy by hand) is picked up without a signal. The directories are watched,
 * not the files: renewals replace files (write-then-rename) or swap
 * symlinks (certbot's live/ → archive/), which a watch on the old file
 * would never see. Events for other files in those directories (a database
 * beside the certificates) are ignored; a burst of events (certificate and
 * key written one after the other) becomes one reload after a quiet spell.
 */
import { dirname } from "node:path";
import { logger } from "../log.ts";

const log = logger("tls");

/** Quiet time after the last event before reloading: renewals write several files. */
const DEBOUNCE_MS = 500;

export class CertWatcher {
  #watcher?: Deno.FsWatcher;
  #running?: Promise<void>;
  #dirsKey = "";
  /** The watched paths: as configured and, through symlinks, where they lead. */
  #names = new Set<string>();
  #timer?: ReturnType<typeof setTimeout>;
  #closed = false;

  constructor(private readonly onChange: () => void, private readonly debounceMs = DEBOUNCE_MS) {}

  /** Watch these files (again: a symlink may lead elsewhere after a renewal). */
  async update(files: string[]): Promise<void> {
    if (this.#closed) return;
    const names = new Set<string>();
    const dirs = new Set<string>();
    for (const file of files) {
      names.add(file);
      dirs.add(dirname(file));
      try {
        const real = await Deno.realPath(file);
        names.add(real);
        dirs.add(dirname(real));
      } catch { /* not there (yet): its directory is still watched */ }
    }
    const existing: string[] = [];
    for (const dir of dirs) {
      try {
        if ((await Deno.stat(dir)).isDirectory) existing.push(dir);
      } catch { /* a directory that does not exist cannot be watched */ }
    }
    this.#names = names;
    const key = existing.sort().join("\0");
    if (key === this.#dirsKey && this.#watcher) return;
    await this.#stopWatching();
    this.#dirsKey = key;
    if (existing.length === 0 || this.#closed) return;
    try {
      const watcher = Deno.watchFs(existing, { recursive: false });
      this.#watcher = watcher;
      this.#running = this.#read(watcher);
      log.debug("watching certificate files in {dirs}", { dirs: existing.join(", ") });
    } catch (err) {
      log.warn("cannot watch certificate files in {dirs} (renewals need a reload): {err}", {
        dirs: existing.join(", "),
        err,
      });
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#stopWatching();
  }

  async #stopWatching(): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (!watcher) return;
    try {
      watcher.close();
    } catch { /* already closed */ }
    await this.#running;
  }

  async #read(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        if (event.kind === "access") continue;
        if (event.paths.some((p) => this.#names.has(p))) this.#schedule();
      }
    } catch (err) {
      if (this.#watcher === watcher) log.warn("certificate watch ended: {err}", { err });
    }
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#closed) this.onChange();
    }, this.debounceMs);
  }
}
