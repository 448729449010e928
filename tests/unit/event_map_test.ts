/**
 * The event map's typing, checked by the compiler (`deno test` type-checks
 * this file): each `@ts-expect-error` line must be an error, the rest not.
 */
import assert from "node:assert/strict";
import { EventHub } from "../../src/core/events.ts";
import type { StanzaEvent } from "../../src/core/router.ts";
import type { SessionEvent } from "../../src/core/sessions.ts";

Deno.test("event names in the map check payloads; other names take any payload", () => {
  const hub = new EventHub();
  const seen: string[] = [];
  hub.on("resource-bind", (ev) => void seen.push(typeof ev.session));
  // An explicit payload type is trusted, as before the map.
  hub.on<SessionEvent>("resource-unbind", () => {});
  // @ts-expect-error a resource-bind handler gets a SessionEvent, not a StanzaEvent
  hub.on("resource-bind", (ev: StanzaEvent) => void ev.stanza);
  // @ts-expect-error a fired payload must match the map
  hub.fire("user-deleted", { user: "alice" });
  // Stanza events built from parts carry a StanzaEvent.
  const ns = "urn:x:any" as string;
  hub.on(`iq-set/self/${ns}:query`, (ev) => void ev.stanza.attrs.id);
  hub.on(`iq-result/host/some-id`, (ev) => void ev.stanza);
  // @ts-expect-error and nothing else
  hub.on("message/bare", (ev: SessionEvent) => void ev.session);
  // Names outside the map: any payload (a module's private events).
  hub.on("x-private", (ev: { n: number }) => void seen.push(String(ev.n)));
  hub.fire("x-private", { n: 1 });
  assert.deepEqual(seen, ["1"]);
});
