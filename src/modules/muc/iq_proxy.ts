/**
 * iqs between occupants (XEP-0045 §7.? vCards, versions, pings): sent on
 * to a session of the target occupant from the sender's occupant JID
 * under a fresh id, and the answer back under the original id. vCard
 * requests go to the target's bare JID (its server answers). Pending
 * requests are bounded, in all and per requester, and forgotten after a
 * minute.
 */
import { Element } from "../../xml/element.ts";
import { randomId } from "../../util/random.ts";
import { StanzaError } from "../../core/errors.ts";
import { parseJid } from "../../jid.ts";
import type { MucService } from "./service.ts";
import type { Occupant, Room } from "./room.ts";
import { NS_VCARD } from "./ns.ts";

const MAX_PENDING = 1000;
const TIMEOUT_MS = 60_000;
/**
 * Pending requests of one real full JID: without it one occupant's flood
 * fills the table and evicts everyone else's requests (their answers lost).
 */
const MAX_PENDING_PER_REQUESTER = 16;

interface Pending {
  id: string;
  /** Real full JID of the requester. */
  requester: string;
  /** Occupant JID the request was sent to. */
  target: string;
  /** Bare JID whose answer is awaited (nobody else may answer). */
  responder: string;
  at: number;
}

export class IqProxy {
  readonly #pending = new Map<string, Pending>();
  /** Requester → how many of `#pending` are its. */
  readonly #perRequester = new Map<string, number>();

  constructor(readonly svc: MucService) {}

  forward(room: Room, sender: Occupant, realFrom: string, target: Occupant, iq: Element): boolean {
    const now = Date.now();
    for (const [k, p] of this.#pending) {
      if (now - p.at < TIMEOUT_MS && this.#pending.size < MAX_PENDING) break;
      this.#forget(k, p);
    }
    const mine = this.#perRequester.get(realFrom) ?? 0;
    if (mine >= MAX_PENDING_PER_REQUESTER) {
      throw new StanzaError("wait", "resource-constraint", "Too many requests awaiting answers");
    }
    this.#perRequester.set(realFrom, mine + 1);
    const id = "muc-" + randomId(12);
    this.#pending.set(id, {
      id: iq.attrs.id,
      requester: realFrom,
      target: room.occupantJid(target.nick),
      responder: target.bareJid,
      at: now,
    });
    const payload = iq.firstElement();
    const to = payload?.attrs.xmlns === NS_VCARD
      ? target.bareJid
      : target.sessions.keys().next().value!;
    this.svc.send(
      new Element("iq", { ...iq.attrs, id, to, from: room.occupantJid(sender.nick) }, iq.children),
    );
    return true;
  }

  /** A result or error for a forwarded request: back to the requester. */
  answer(iq: Element): boolean {
    const p = this.#pending.get(iq.attrs.id ?? "");
    if (!p || parseJid(iq.attrs.from ?? "")?.bare !== p.responder) return false;
    this.#forget(iq.attrs.id!, p);
    this.svc.send(
      new Element("iq", { ...iq.attrs, id: p.id, to: p.requester, from: p.target }, iq.children),
    );
    return true;
  }

  #forget(id: string, p: Pending): void {
    this.#pending.delete(id);
    const left = (this.#perRequester.get(p.requester) ?? 1) - 1;
    if (left > 0) this.#perRequester.set(p.requester, left);
    else this.#perRequester.delete(p.requester);
  }
}
