/**
 * A user's push registrations (XEP-0357 §5), one map entry per app server
 * and node, at most `max` per user.
 */
import type { Json, MapStore } from "../../storage/types.ts";
import { StanzaError } from "../../core/errors.ts";
import { type Registration, registrationKey } from "./protocol.ts";
import { KeyedQueue } from "../../util/keyed_queue.ts";

function asRegistration(value: Json): Registration | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const { jid, node, options, body } = value;
  if (typeof jid !== "string" || typeof node !== "string" || !Array.isArray(options)) {
    return undefined;
  }
  return { jid, node, options: options as [string, string[]][], body: body === true };
}

export class Registrations {
  /** Enables of one user one at a time: pipelined ones must not all pass the count. */
  readonly #queue = new KeyedQueue();

  constructor(readonly store: MapStore, readonly max: number) {}

  async all(user: string): Promise<Registration[]> {
    const out: Registration[] = [];
    for (const value of (await this.store.getAll(user)).values()) {
      const reg = asRegistration(value);
      if (reg) out.push(reg);
    }
    return out;
  }

  /** Add or replace (same app server and node); refused past the limit. */
  enable(user: string, reg: Registration): Promise<void> {
    return this.#queue.run(user, () => this.#enable(user, reg));
  }

  async #enable(user: string, reg: Registration): Promise<void> {
    const key = registrationKey(reg.jid, reg.node);
    const existing = await this.store.getAll(user);
    if (!existing.has(key) && existing.size >= this.max) {
      throw new StanzaError(
        "modify",
        "not-acceptable",
        `At most ${this.max} push registrations per account`,
      );
    }
    await this.store.set(user, key, reg as unknown as Json);
  }

  /** Remove one node's registration, or every one of the app server when `node` is undefined. */
  async disable(user: string, jid: string, node: string | undefined): Promise<void> {
    if (node !== undefined) {
      return await this.store.set(user, registrationKey(jid, node), undefined);
    }
    for (const reg of await this.all(user)) {
      if (reg.jid === jid) {
        await this.store.set(user, registrationKey(reg.jid, reg.node), undefined);
      }
    }
  }
}
