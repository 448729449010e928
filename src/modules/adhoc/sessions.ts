/**
 * Command sessions (XEP-0050 §3.4 `sessionid`): which command, whose, at
 * which stage. Bounded: sessions expire after a while, each requester may
 * keep a few open, and the whole table has a cap (the oldest go first).
 */
import { randomId } from "../../util/random.ts";
import type { Stage } from "./types.ts";

export interface CommandSession {
  id: string;
  node: string;
  /** The full JID that started it: nobody else may continue it. */
  owner: string;
  /** Stages sent so far, the current one last (for `prev`). */
  history: Extract<Stage, { status: "executing" }>[];
  expires: number;
}

export interface SessionLimits {
  ttlMs: number;
  perOwner: number;
  total: number;
}

export const DEFAULT_LIMITS: SessionLimits = { ttlMs: 10 * 60_000, perOwner: 5, total: 1000 };

export type Lookup =
  | { kind: "ok"; session: CommandSession }
  | { kind: "expired" }
  | { kind: "unknown" };

export class CommandSessions {
  // Insertion order is creation order: the oldest are first.
  #sessions = new Map<string, CommandSession>();

  constructor(
    private readonly limits: SessionLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#sessions.size;
  }

  newId(node: string): string {
    // The node's last part makes ids readable in logs; the random part makes them unguessable.
    return (node.split("#").pop() ?? "cmd") + ":" + randomId();
  }

  open(id: string, node: string, owner: string): CommandSession {
    this.#sweep();
    const mine = [...this.#sessions.values()].filter((s) => s.owner === owner);
    for (const s of mine.slice(0, Math.max(0, mine.length - this.limits.perOwner + 1))) {
      this.#sessions.delete(s.id);
    }
    while (this.#sessions.size >= this.limits.total) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    const session: CommandSession = {
      id,
      node,
      owner,
      history: [],
      expires: this.now() + this.limits.ttlMs,
    };
    this.#sessions.set(id, session);
    return session;
  }

  find(id: string, node: string, owner: string): Lookup {
    const s = this.#sessions.get(id);
    // Another requester's session is reported as unknown: ids are not to be probed.
    if (!s || s.node !== node || s.owner !== owner) return { kind: "unknown" };
    if (s.expires <= this.now()) {
      this.#sessions.delete(id);
      return { kind: "expired" };
    }
    s.expires = this.now() + this.limits.ttlMs;
    return { kind: "ok", session: s };
  }

  close(id: string): void {
    this.#sessions.delete(id);
  }

  #sweep(): void {
    const now = this.now();
    for (const [id, s] of this.#sessions) if (s.expires <= now) this.#sessions.delete(id);
  }
}
