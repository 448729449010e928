/**
 * What one module registered on one host (hooks, features, identities,
 * stream features, providers, timers, pending iqs, its own cleanups), so
 * that unloading it takes all of that away and nothing else. Removers run
 * newest first, each once; one that throws is logged and the rest still run.
 */
import type { Remover } from "./events.ts";
import type { Logger } from "../log.ts";

export class ModuleRegistrations {
  #removers = new Set<Remover>();
  #disposed = false;

  constructor(readonly log: Logger) {}

  get disposed(): boolean {
    return this.#disposed;
  }

  /**
   * Remember `remover` for unload; the returned remover runs it now and
   * forgets it (so short-lived registrations do not pile up). After
   * unload, a new registration is undone at once.
   */
  track(remover: Remover): Remover {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      this.#removers.delete(once);
      remover();
    };
    if (this.#disposed) {
      once();
      return once;
    }
    this.#removers.add(once);
    return once;
  }

  /** Undo everything, newest first. */
  dispose(): void {
    this.#disposed = true;
    for (const r of [...this.#removers].reverse()) {
      try {
        r();
      } catch (err) {
        this.log.error("unloading: a cleanup failed: {err}", { err });
      }
    }
    this.#removers.clear();
  }
}

/**
 * Several modules may add the same disco feature: it stays listed until
 * the last of them is unloaded. Counts per set.
 */
const counts = new WeakMap<Set<string>, Map<string, number>>();

export function addCounted(set: Set<string>, value: string): Remover {
  let c = counts.get(set);
  if (!c) counts.set(set, c = new Map());
  // A value already there (added without counting) counts as one holder.
  c.set(value, (c.get(value) ?? (set.has(value) ? 1 : 0)) + 1);
  set.add(value);
  return () => {
    const n = (c.get(value) ?? 1) - 1;
    if (n > 0) c.set(value, n);
    else {
      c.delete(value);
      set.delete(value);
    }
  };
}

/** Push onto a list; the remover takes out that very entry. */
export function pushRemovable<T>(list: T[], item: T): Remover {
  list.push(item);
  return () => {
    const i = list.indexOf(item);
    if (i !== -1) list.splice(i, 1);
  };
}
