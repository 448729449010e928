/**
 * Multi-user chat (XEP-0045) on a service host (`conference.<domain>`),
 * with occupant ids (XEP-0421), self-ping (XEP-0410), moderation
 * (XEP-0425) and the room archive over MAM (XEP-0313). docs/muc.md
 * states the rules; `muc.*` in the config bounds everything.
 *
 * It hooks the stanza events of its host above core delivery, so it
 * runs the same on a service host and on an ordinary host given over to
 * it: every stanza to the service, a room or an occupant is its own.
 */
import type { ParleyModule } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { randomId } from "../../util/random.ts";
import { MucService } from "./service.ts";
import { RoomStore } from "./room_store.ts";
import { PresenceHandler } from "./presence.ts";
import { MessageHandler } from "./messages.ts";
import { AdminHandler } from "./admin.ts";
import { OwnerHandler } from "./owner.ts";
import { RegisterHandler } from "./register.ts";
import { RoomMam } from "./room_mam.ts";
import { Moderation } from "./moderation.ts";
import { IqProxy } from "./iq_proxy.ts";
import { IqHandler } from "./iq.ts";
import { SERVICE_FEATURES } from "./disco.ts";
import { RetentionSweeper } from "../mam/retention.ts";

/** Modules only a user host loads: their presence means this is not the service's host. */
const USER_MODULES = ["roster", "presence", "offline"];

/** Above core delivery (-1000) and anything a user host might hook. */
export const MUC_PRIORITY = 100;

export const mucModule: ParleyModule = {
  name: "muc",
  async setup(api) {
    // Hooked above delivery, it would swallow a user host's own traffic.
    if (USER_MODULES.some((m) => api.host.config.modules.includes(m))) {
      api.log.error("{domain}: muc serves a service host, not a user host: not loaded", {
        domain: api.domain,
      });
      return;
    }
    const secrets = api.keyval("muc_secret");
    let secret = await secrets.get("");
    if (typeof secret !== "string") {
      secret = randomId(32);
      await secrets.set("", secret);
    }
    const store = new RoomStore(api.map("muc_rooms"));
    const archive = api.archive("muc_archive");
    const svc = new MucService(api, api.config.muc, store, archive, secret);
    for (const room of await store.loadAll(api.domain, svc.newRoomConfig())) {
      if (svc.rooms.size >= svc.limits.maxRooms) break;
      svc.rooms.set(room.name, room);
    }
    api.addIdentity({ category: "conference", type: "text", name: "Chatrooms" });
    for (const f of SERVICE_FEATURES) api.addFeature(f);

    const presence = new PresenceHandler(svc);
    const messages = new MessageHandler(svc, presence);
    const proxy = new IqProxy(svc);
    const iq = new IqHandler(svc, {
      admin: new AdminHandler(svc),
      owner: new OwnerHandler(svc),
      register: new RegisterHandler(svc),
      mam: new RoomMam(svc),
      moderation: new Moderation(svc),
      proxy,
    });

    const on = (name: string, fn: (ev: StanzaEvent) => boolean | Promise<boolean>) =>
      api.hook(name, fn, MUC_PRIORITY);
    on("presence/full", presence.handle);
    on("presence/bare", presence.bare);
    on("presence/host", () => true);
    on("message/bare", messages.toRoom);
    on("message/full", messages.toOccupant);
    on("message/host", () => true);
    on("iq/host", iq.host);
    on("iq/bare", iq.room);
    on("iq/full", (ev) => iq.occupant(ev, proxy));

    // Room archives keep what users' archives keep (`mam.retentionDays`): a
    // message posted to a room is also in its senders' and readers' own
    // archives, and outliving them there would defeat the retention.
    const retention = new RetentionSweeper(archive, api.config.mam.retentionDays, api.log);
    retention.start();
    api.hook("server-stopping", () => retention.stop());
    // Operators and tests: sweep now, as on a user host.
    api.hook("mam/expire", async (ev) => {
      ev.expired = (ev.expired ?? 0) + await retention.sweep();
      return true;
    });

    // §7.2.? 332: the service is going away; everyone is told, rooms stay stored.
    api.hook("server-stopping", () => {
      for (const room of svc.rooms.values()) svc.expelAll(room, { codes: ["332"] });
    });
  },
};
