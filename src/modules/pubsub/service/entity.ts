/**
 * The entity use cases (XEP-0060 §6, §7, §8.1): create, publish,
 * retract, subscribe, unsubscribe, subscription options, items, and the
 * requester's own subscriptions and affiliations. Each returns the
 * result payload (or EMPTY_RESULT) or throws the StanzaError to answer.
 */
import type { StanzaEvent } from "../../../core/router.ts";
import { EMPTY_RESULT, type IqAnswer } from "../../../core/iq_handler.ts";
import { parseForm } from "../../../util/dataforms.ts";
import { randomId } from "../../../util/random.ts";
import { nextTurn } from "../../../util/next_turn.ts";
import { el, type Element } from "../../../xml/element.ts";
import {
  eventItems,
  eventRetract,
  mayPublish,
  NS_PUBSUB,
  pubsubError,
  subscriptionsHeldBy,
} from "../engine/index.ts";
import { type NodeExtras, type PubsubService, SCOPE } from "./service.ts";
import { publishRequest } from "../engine/request.ts";
import {
  actionOf,
  checkAccessModel,
  itemReplyOf,
  jidOf,
  nodeAttr,
  requesterOf,
} from "./request.ts";
import { optionsGet, optionsSet, parseSubscribeOptions } from "./subscribe_options.ts";

/** Nodes listed in "my subscriptions" (a storage read each) between two turns of the event loop. */
const LISTING_STEP = 128;

/** Items of the largest size one items answer may hold (their bytes bound it). */
const ITEMS_ANSWER_ITEMS = 16;

const truthy = (v: string | undefined) => v === "true" || v === "1";
const pubsub = (...children: Element[]) => el("pubsub", { xmlns: NS_PUBSUB }, ...children);

export class EntityRequests {
  constructor(readonly svc: PubsubService) {}

  get = async (ev: StanzaEvent): Promise<IqAnswer> => {
    const req = ev.stanza.firstElement()!;
    const op = actionOf(req);
    switch (op.name) {
      case "items":
        return await this.items(ev, op);
      case "options":
        return await optionsGet(this.svc, requesterOf(ev), op);
      case "subscriptions":
        return await this.ownSubscriptions(ev, op);
      case "affiliations":
        return await this.ownAffiliations(ev, op);
      default:
        throw pubsubError("cancel", "feature-not-implemented");
    }
  };

  set = async (ev: StanzaEvent): Promise<IqAnswer> => {
    const req = ev.stanza.firstElement()!;
    const op = actionOf(req);
    switch (op.name) {
      case "create":
        return await this.create(ev, req, op);
      case "publish":
        return await this.publish(ev, req, op);
      case "retract":
        return await this.retract(ev, op);
      case "subscribe":
        return await this.subscribe(ev, req, op);
      case "unsubscribe":
        return await this.unsubscribe(ev, op);
      case "options":
        return await optionsSet(this.svc, requesterOf(ev), op);
      default:
        throw pubsubError("cancel", "feature-not-implemented");
    }
  };

  /** §8.1: a named or instant node, configured by the `configure` form when given. */
  async create(ev: StanzaEvent, req: Element, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const owner = requesterOf(ev).bare;
    if (!svc.mayCreate(owner)) throw pubsubError("auth", "forbidden");
    const instant = op.attrs.node === undefined || op.attrs.node === "";
    const name = instant ? randomId(16) : op.attrs.node!;
    if (name.length > 1024) throw pubsubError("modify", "not-acceptable");
    const configure = req.getChild("configure");
    const form = configure ? parseForm(configure) : undefined;
    const itemreply = itemReplyOf(form) ?? "owner";
    checkAccessModel(form);
    await svc.serial(async () => {
      await svc.engine.createNode(SCOPE, name, owner, form);
      await svc.setExtras(name, { itemreply, subs: {} });
    });
    return instant ? pubsub(el("create", { node: name })) : EMPTY_RESULT;
  }

  /** §7.1: one item; a missing node is created (auto-create) for whoever may create nodes. */
  async publish(ev: StanzaEvent, req: Element, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const publisher = requesterOf(ev).bare;
    const { node: name, item, payloads, options } = publishRequest(req, op);
    // pubsub#itemreply is the service's own option, kept beside the engine's config.
    const itemreply = itemReplyOf(options);
    const engineOptions = options && new Map(options);
    engineOptions?.delete("pubsub#itemreply");
    const { node, item: stored, extras } = await svc.serial(async () => {
      const existing = await svc.engine.getNode(SCOPE, name);
      // Options that would create a node must name what the service offers.
      if (!existing) checkAccessModel(options);
      else if (
        itemreply !== undefined && mayPublish(existing, publisher) &&
        itemreply !== (await svc.extras(name)).itemreply
      ) {
        throw pubsubError("cancel", "conflict", "precondition-not-met");
      }
      const r = await svc.engine.publish(SCOPE, {
        node: name,
        id: item?.attrs.id,
        payload: payloads[0],
        publisher,
        options: engineOptions,
        autoCreate: svc.mayCreate(publisher),
        hasItem: item !== undefined,
      });
      let extras: NodeExtras;
      if (r.created) {
        extras = { itemreply: itemreply ?? "owner", subs: {} };
        await svc.setExtras(name, extras);
      } else extras = await svc.extras(name);
      return { ...r, extras };
    });
    await svc.broadcast(node, eventItems(name, [svc.itemEl(node, stored, extras)]), extras);
    return pubsub(el("publish", { node: name }, el("item", { id: stored.id })));
  }

  /** §7.2: the publisher, a publisher or an owner removes an item. */
  async retract(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const requester = requesterOf(ev).bare;
    const name = nodeAttr(op);
    const ids = op.getChildren("item").map((i) => i.attrs.id ?? "");
    if (ids.length !== 1 || ids[0] === "") {
      throw pubsubError("modify", "bad-request", "item-required");
    }
    // An admin acts as the owner: the engine sees the node's first owner.
    const node0 = await svc.engine.requireNode(SCOPE, name);
    const actor = svc.isAdmin(requester) && node0.affiliations[requester] !== "owner"
      ? Object.keys(node0.affiliations).find((j) => node0.affiliations[j] === "owner") ?? requester
      : requester;
    const node = await svc.engine.retract(SCOPE, name, ids[0], actor);
    if (truthy(op.attrs.notify) || node.config.notify_retract) {
      await svc.broadcast(node, eventRetract(name, [ids[0]]));
    }
    return EMPTY_RESULT;
  }

  /** §6.1: the requester's bare JID or a full JID of it; the last item follows (§6.1.7). */
  async subscribe(ev: StanzaEvent, req: Element, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const requester = requesterOf(ev);
    const name = nodeAttr(op);
    const jid = jidOf(op);
    if (jid.bare !== requester.bare) throw pubsubError("modify", "bad-request", "invalid-jid");
    const optionsEl = req.getChild("options");
    // §6.3.7: the subscribe names node and JID; options beside it name neither (MUST).
    if (optionsEl && (optionsEl.attrs.node !== undefined || optionsEl.attrs.jid !== undefined)) {
      throw pubsubError("modify", "bad-request");
    }
    const deliver = optionsEl ? parseSubscribeOptions(optionsEl).deliver : undefined;
    const { node, subid, fresh } = await svc.serial(async () => {
      const node = await svc.engine.requireNode(SCOPE, name);
      const denied = await svc.readError(node, requester.bare);
      if (denied) throw denied;
      const extras = await svc.extras(name);
      const known = extras.subs[jid.full];
      if (known && jid.full in node.subscriptions) {
        if (deliver !== undefined) known.deliver = deliver;
        await svc.setExtras(name, extras);
        return { node, subid: known.subid, fresh: false };
      }
      const updated = await svc.engine.setSubscription(SCOPE, name, jid.full, true);
      const subid = svc.newSubid();
      extras.subs[jid.full] = { subid, deliver: deliver ?? true };
      await svc.setExtras(name, extras);
      return { node: updated, subid, fresh: true };
    });
    // After the result: the reply is sent when this handler returns.
    if (fresh) svc.api.setTimeout(() => svc.sendLast(node, jid.full), 0);
    return pubsub(
      el("subscription", { node: name, jid: jid.full, subid, subscription: "subscribed" }),
    );
  }

  /** §6.2: the subscription of `jid` (the requester's), by subid when given. */
  async unsubscribe(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const requester = requesterOf(ev);
    const name = nodeAttr(op);
    const jid = jidOf(op);
    if (jid.bare !== requester.bare) throw pubsubError("auth", "forbidden", "invalid-jid");
    await svc.serial(async () => {
      const node = await svc.engine.requireNode(SCOPE, name);
      const extras = await svc.extras(name);
      if (!(jid.full in node.subscriptions)) {
        throw pubsubError("cancel", "unexpected-request", "not-subscribed");
      }
      const subid = op.attrs.subid;
      if (subid !== undefined && extras.subs[jid.full]?.subid !== subid) {
        throw pubsubError("modify", "not-acceptable", "invalid-subid");
      }
      await svc.engine.setSubscription(SCOPE, name, jid.full, false);
      delete extras.subs[jid.full];
      await svc.setExtras(name, extras);
    });
    return EMPTY_RESULT;
  }

  /** §6.5: all items, the newest `max_items`, or those named. */
  async items(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const requester = requesterOf(ev).bare;
    const name = nodeAttr(op);
    const node = await svc.engine.requireNode(SCOPE, name);
    const denied = await svc.readError(node, requester);
    if (denied) throw denied;
    const ids = op.getChildren("item").map((i) => i.attrs.id ?? "").filter((id) => id !== "");
    const maxAttr = op.attrs.max_items;
    let max: number | undefined;
    if (maxAttr !== undefined) {
      if (!/^\d{1,9}$/.test(maxAttr)) throw pubsubError("modify", "bad-request");
      max = Number(maxAttr);
    }
    // A subset at most 16 items of the largest size (§6.5.4): a node may hold 1000.
    const maxBytes = ITEMS_ANSWER_ITEMS * svc.settings.maxItemBytes;
    const found = await svc.engine.items(
      SCOPE,
      node,
      ids.length > 0 ? { ids, maxBytes } : { max, maxBytes },
    );
    if (ids.length > 0 && found.length === 0) throw pubsubError("cancel", "item-not-found");
    const extras = await svc.extras(name);
    return pubsub(
      el("items", { node: name }, ...found.map((i) => svc.itemEl(node, i, extras, false))),
    );
  }

  /** §5.6: the requester's subscriptions (bare and full JIDs), on one node or all. */
  async ownSubscriptions(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const svc = this.svc;
    const bare = requesterOf(ev).bare;
    const out = el("subscriptions", { node: op.attrs.node });
    let listed = 0;
    for (const node of await this.#nodes(op)) {
      const mine = subscriptionsHeldBy(node, bare);
      // Extras (for the subids) only of the nodes listed: reading them for
      // every node of the service was a storage read per node per request.
      if (mine.length === 0) continue;
      // One may subscribe to every node: a storage read each, in steps.
      if (++listed % LISTING_STEP === 0) await nextTurn();
      const extras = await svc.extras(node.name);
      for (const jid of mine) {
        out.append(
          el("subscription", {
            node: node.name,
            jid,
            subid: extras.subs[jid]?.subid,
            subscription: "subscribed",
          }),
        );
      }
    }
    return pubsub(out);
  }

  /** §5.7: the requester's affiliations, on one node or all. */
  async ownAffiliations(ev: StanzaEvent, op: Element): Promise<IqAnswer> {
    const bare = requesterOf(ev).bare;
    const out = el("affiliations", { node: op.attrs.node });
    for (const node of await this.#nodes(op)) {
      const affiliation = node.affiliations[bare];
      if (affiliation) out.append(el("affiliation", { node: node.name, affiliation }));
    }
    return pubsub(out);
  }

  async #nodes(op: Element) {
    const name = op.attrs.node;
    if (name === undefined || name === "") return await this.svc.engine.listNodes(SCOPE);
    return [await this.svc.engine.requireNode(SCOPE, name)];
  }
}
