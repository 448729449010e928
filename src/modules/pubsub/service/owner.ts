/**
 * The owner use cases (XEP-0060 §8, `pubsub#owner`): configure (get and
 * set), default configuration, delete (with redirect), purge, and the
 * affiliation and subscription lists. Only owners (and the host's
 * admins) may; everyone else gets `forbidden`.
 */
import type { StanzaEvent } from "../../../core/router.ts";
import { EMPTY_RESULT, type IqAnswer } from "../../../core/iq_handler.ts";
import { parseJid } from "../../../jid.ts";
import { formType, parseForm } from "../../../util/dataforms.ts";
import { el, type Element } from "../../../xml/element.ts";
import {
  type Affiliation,
  configForm,
  eventDelete,
  eventPurge,
  NS_NODE_CONFIG,
  NS_PUBSUB_EVENT,
  NS_PUBSUB_OWNER,
  pubsubError,
  type StoredNode,
} from "../engine/index.ts";
import { type ItemReply, type PubsubService, SCOPE } from "./service.ts";
import { checkAccessModel, itemReplyOf, nodeAttr, requesterOf } from "./request.ts";

const AFFILIATIONS = ["owner", "publisher", "publish-only", "member", "none", "outcast"];
const owner = (...children: Element[]) => el("pubsub", { xmlns: NS_PUBSUB_OWNER }, ...children);

/** The engine's node_config form plus the service's own field, `pubsub#itemreply`. */
export function nodeConfigForm(
  node: StoredNode | undefined,
  itemreply: ItemReply,
  config = node?.config,
) {
  const x = configForm(config!);
  x.append(
    el(
      "field",
      { var: "pubsub#itemreply", type: "list-single" },
      el("value", {}, itemreply),
      el("option", {}, el("value", {}, "owner")),
      el("option", {}, el("value", {}, "publisher")),
    ),
  );
  return x;
}

export class OwnerRequests {
  constructor(readonly svc: PubsubService) {}

  /** The node `op` names, when the requester owns it. */
  async #owned(ev: StanzaEvent, op: Element): Promise<StoredNode> {
    const node = await this.svc.engine.requireNode(SCOPE, nodeAttr(op));
    this.svc.requireOwner(node, requesterOf(ev).bare);
    return node;
  }

  get = async (ev: StanzaEvent): Promise<IqAnswer> => {
    const op = ev.stanza.firstElement()!.firstElement();
    if (!op) throw pubsubError("modify", "bad-request");
    switch (op.name) {
      case "default": {
        // §8.3: what a new node gets.
        const x = nodeConfigForm(undefined, "owner", this.svc.engine.options.defaults);
        return owner(el("default", {}, x));
      }
      case "configure": {
        const node = await this.#owned(ev, op);
        const extras = await this.svc.extras(node.name);
        return owner(el("configure", { node: node.name }, nodeConfigForm(node, extras.itemreply)));
      }
      case "affiliations": {
        const node = await this.#owned(ev, op);
        return owner(
          el(
            "affiliations",
            { node: node.name },
            ...Object.entries(node.affiliations).map(([jid, affiliation]) =>
              el("affiliation", { jid, affiliation })
            ),
          ),
        );
      }
      case "subscriptions": {
        const node = await this.#owned(ev, op);
        const extras = await this.svc.extras(node.name);
        return owner(
          el(
            "subscriptions",
            { node: node.name },
            ...Object.keys(node.subscriptions).map((jid) =>
              el("subscription", {
                jid,
                subid: extras.subs[jid]?.subid,
                subscription: "subscribed",
              })
            ),
          ),
        );
      }
      default:
        throw pubsubError("cancel", "feature-not-implemented");
    }
  };

  set = async (ev: StanzaEvent): Promise<IqAnswer> => {
    const op = ev.stanza.firstElement()!.firstElement();
    if (!op) throw pubsubError("modify", "bad-request");
    switch (op.name) {
      case "configure":
        return await this.configure(ev, op);
      case "delete":
        return await this.delete(ev, op);
      case "purge":
        return await this.purge(ev, op);
      case "affiliations":
        return await this.affiliations(ev, op);
      case "subscriptions":
        return await this.subscriptions(ev, op);
      default:
        throw pubsubError("cancel", "feature-not-implemented");
    }
  };

  /** §8.2.4: a submitted form is applied; a cancelled one changes nothing. */
  async configure(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const name = nodeAttr(op);
    const form = parseForm(op);
    if (!form) throw pubsubError("modify", "bad-request");
    const type = formType(op);
    if (type === "cancel") {
      await this.#owned(ev, op);
      return EMPTY_RESULT;
    }
    if (type !== "submit") throw pubsubError("modify", "bad-request");
    const formTypeValue = form.get("FORM_TYPE")?.[0];
    if (formTypeValue !== undefined && formTypeValue !== NS_NODE_CONFIG) {
      throw pubsubError("modify", "bad-request");
    }
    const itemreply = itemReplyOf(form);
    checkAccessModel(form);
    const node = await svc.serial(async () => {
      await this.#owned(ev, op);
      const node = await svc.engine.configureNode(SCOPE, name, form);
      if (itemreply !== undefined) {
        const extras = await svc.extras(name);
        extras.itemreply = itemreply;
        await svc.setExtras(name, extras);
      }
      return node;
    });
    if (node.config.notify_config) {
      // §8.2.5: the new configuration, as a result form when payloads are delivered.
      const event = el(
        "event",
        { xmlns: NS_PUBSUB_EVENT },
        el(
          "configuration",
          { node: name },
          ...(node.config.deliver_payloads ? [configForm(node.config, "result")] : []),
        ),
      );
      await svc.broadcast(node, event);
    }
    return EMPTY_RESULT;
  }

  /** §8.4: subscribers are told, pointed at `redirect` when given. */
  async delete(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const name = nodeAttr(op);
    const redirect = op.getChild("redirect")?.attrs.uri;
    const { node, extras } = await svc.serial(async () => {
      await this.#owned(ev, op);
      const extras = await svc.extras(name);
      const node = await svc.engine.deleteNode(SCOPE, name);
      await svc.setExtras(name, undefined);
      return { node, extras };
    });
    if (node.config.notify_delete) {
      const event = eventDelete(name);
      if (redirect) event.getChild("delete")!.append(el("redirect", { uri: redirect }));
      await svc.broadcast(node, event, extras);
    }
    return EMPTY_RESULT;
  }

  /** §8.5: every item goes; subscribers are told when retractions are notified. */
  async purge(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const name = nodeAttr(op);
    const node = await svc.serial(async () => {
      await this.#owned(ev, op);
      return await svc.engine.purge(SCOPE, name);
    });
    if (node.config.notify_retract) await svc.broadcast(node, eventPurge(name));
    return EMPTY_RESULT;
  }

  /** §8.9.2: set affiliations; an outcast loses its subscriptions. */
  async affiliations(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const name = nodeAttr(op);
    const changes: [string, Affiliation][] = [];
    for (const a of op.getChildren("affiliation")) {
      const jid = parseJid(a.attrs.jid ?? "");
      const aff = a.attrs.affiliation ?? "";
      if (!jid || jid.resource !== undefined || !AFFILIATIONS.includes(aff)) {
        throw pubsubError("modify", "bad-request");
      }
      changes.push([jid.bare, aff as Affiliation]);
    }
    if (changes.length > 1000) throw pubsubError("modify", "not-acceptable");
    await svc.serial(async () => {
      await this.#owned(ev, op);
      const node = await svc.engine.setAffiliations(SCOPE, name, changes);
      const outcasts = new Set(changes.filter(([, a]) => a === "outcast").map(([j]) => j));
      if (outcasts.size === 0) return;
      const extras = await svc.extras(name);
      const gone = Object.keys(node.subscriptions).filter((sub) => {
        const bare = parseJid(sub)?.bare;
        return bare !== undefined && outcasts.has(bare);
      });
      // One write for all of them (a node may have 10000 subscriptions).
      await svc.engine.setSubscriptions(SCOPE, name, gone.map((sub) => [sub, false]));
      for (const sub of gone) delete extras.subs[sub];
      await svc.setExtras(name, extras);
    });
    return EMPTY_RESULT;
  }

  /** §8.8.2: subscribe (`subscribed`) or remove (`none`) any entity's subscription. */
  async subscriptions(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const name = nodeAttr(op);
    const changes: [string, boolean][] = [];
    for (const s of op.getChildren("subscription")) {
      const jid = parseJid(s.attrs.jid ?? "");
      const state = s.attrs.subscription;
      if (!jid || (state !== "subscribed" && state !== "none")) {
        throw pubsubError("modify", "bad-request");
      }
      changes.push([jid.full, state === "subscribed"]);
    }
    if (changes.length > 1000) throw pubsubError("modify", "not-acceptable");
    await svc.serial(async () => {
      await this.#owned(ev, op);
      const extras = await svc.extras(name);
      try {
        // All in one copy and one write of the node, however many there are.
        await svc.engine.setSubscriptions(SCOPE, name, changes, (applied) => {
          for (const [jid, on] of applied) {
            if (on) extras.subs[jid] = { subid: svc.newSubid(), deliver: true };
            else delete extras.subs[jid];
          }
        });
      } finally {
        // What was changed before a failure stays changed: its extras too.
        await svc.setExtras(name, extras);
      }
    });
    return EMPTY_RESULT;
  }
}
