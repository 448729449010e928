/**
 * History on join (XEP-0045 §7.2.15) from the room archive: the latest
 * messages within the room's history length, narrowed by the client's
 * `<history maxstanzas maxchars seconds since/>`, each with a `<delay/>`
 * from the room. `maxchars` counts the serialized stanzas, as §7.2.15 says.
 */
import type { Element } from "../../xml/element.ts";
import { el } from "../../xml/element.ts";
import { parseElement } from "../../util/xml_fragment.ts";
import { parseDateTime } from "../mam/query_form.ts";
import type { MucService } from "./service.ts";
import type { Room } from "./room.ts";
import { NS_DELAY } from "./ns.ts";

/** Archive items read per history message wanted (bodiless ones are skipped). */
const BODILESS_SLACK = 4;
/** Most archive items one join reads. */
const MAX_READ = 1000;

function nonNegative(s: string | undefined): number | undefined {
  if (s === undefined || !/^\d{1,9}$/.test(s.trim())) return undefined;
  return Number(s.trim());
}

export async function sendHistory(
  svc: MucService,
  room: Room,
  to: string,
  request: Element | undefined,
): Promise<void> {
  if (!room.config.archiving) return;
  let max = Math.min(room.config.historyLength, svc.limits.maxHistoryMessages);
  const maxStanzas = nonNegative(request?.attrs.maxstanzas);
  if (maxStanzas !== undefined) max = Math.min(max, maxStanzas);
  const maxChars = nonNegative(request?.attrs.maxchars);
  if (max === 0 || maxChars === 0) return;
  let start: number | undefined;
  const seconds = nonNegative(request?.attrs.seconds);
  if (seconds !== undefined) start = Date.now() - seconds * 1000;
  const since = request?.attrs.since === undefined ? undefined : parseDateTime(request.attrs.since);
  if (since !== undefined) start = Math.max(start ?? 0, since);
  // Bodiless items (reactions, retractions) are archived but not history:
  // read past some of them, within a bound.
  const limit = Math.min(max * BODILESS_SLACK, MAX_READ);
  const items = await svc.archive.find(room.name, { start, reverse: true, limit });
  const out: Element[] = [];
  let chars = 0;
  for (const item of items) {
    if (out.length >= max) break;
    if (typeof item.value !== "string") continue;
    const message = parseElement(item.value);
    if (!message || message.getChild("body") === undefined) continue;
    message.setAttr("to", to);
    message.append(el("delay", {
      xmlns: NS_DELAY,
      from: room.jid,
      stamp: new Date(item.when).toISOString(),
    }));
    if (maxChars !== undefined) {
      chars += message.toString().length;
      if (chars > maxChars) break;
    }
    out.push(message);
  }
  for (let i = out.length - 1; i >= 0; i--) svc.send(out[i]);
}
