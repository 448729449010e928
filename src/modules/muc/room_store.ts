/**
 * Persistent rooms in the service host's `map` store (user "", key: the
 * room's localpart): config, affiliations with reserved nicks, subject.
 * Temporary rooms are never written; a room made temporary is removed.
 */
import type { Json, MapStore } from "../../storage/types.ts";
import { type AffiliationEntry, Room } from "./room.ts";
import { type Affiliation, AFFILIATIONS, type RoomConfig } from "./types.ts";
import { prepNick } from "./nick.ts";

interface Stored {
  config: RoomConfig;
  affiliations: [string, AffiliationEntry][];
  subject: { text: string; by: string };
}

export class RoomStore {
  constructor(readonly map: MapStore) {}

  async save(room: Room): Promise<void> {
    if (!room.config.persistent || room.destroyed) return await this.remove(room.name);
    const value: Stored = {
      config: room.config,
      affiliations: [...room.affiliations],
      subject: room.subject,
    };
    await this.map.set("", room.name, value as unknown as Json);
  }

  async remove(name: string): Promise<void> {
    await this.map.set("", name, undefined);
  }

  /** Every stored room, made from its stored value over today's defaults. */
  async loadAll(domain: string, defaults: RoomConfig): Promise<Room[]> {
    const rooms: Room[] = [];
    for (const [name, value] of await this.map.getAll("")) {
      const stored = value as unknown as Partial<Stored>;
      if (!stored || typeof stored !== "object") continue;
      const room = new Room(name, `${name}@${domain}`, { ...defaults, ...stored.config });
      for (const [jid, entry] of stored.affiliations ?? []) {
        if (!AFFILIATIONS.includes(entry?.affiliation as Affiliation)) continue;
        // Prepared as nicks are today: stored before, it may not have been.
        const nick = entry.nick === undefined ? undefined : prepNick(entry.nick);
        room.affiliations.set(jid, { ...entry, nick });
      }
      if (stored.subject) room.subject = stored.subject;
      rooms.push(room);
    }
    return rooms;
  }
}
