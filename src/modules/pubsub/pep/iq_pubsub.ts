/**
 * The account's pubsub requests (XEP-0060 over XEP-0163): from the account
 * itself (`iq-get/self`, `iq-set/self`) publish, retract, create, items, and the owner
 * use cases (configure, delete, purge, affiliations); from anyone else
 * (`iq-get/bare`, `iq-set/bare`) items and subscriptions, by access model.
 */
import { StanzaError } from "../../../core/errors.ts";
import type { ModuleApi } from "../../../core/module_api.ts";
import type { StanzaEvent } from "../../../core/router.ts";
import { parseJid } from "../../../jid.ts";
import { el, type Element } from "../../../xml/element.ts";
import {
  type Affiliation,
  configForm,
  configureElement,
  itemElement,
  NS_PUBSUB,
  NS_PUBSUB_OWNER,
  pubsubError,
  type StoredNode,
} from "../engine/index.ts";
import type { PepService } from "./service.ts";
import { nodeAttr, publishRequest } from "../engine/request.ts";
import { parseForm } from "../../../util/dataforms.ts";

const AFFILIATIONS = ["owner", "publisher", "publish-only", "member", "none", "outcast"];

const truthy = (v: string | undefined) => v === "true" || v === "1";

/** The single action element of a `<pubsub/>`, and its siblings. */
function action(ev: StanzaEvent): { pubsub: Element; op: Element } {
  const pubsub = ev.stanza.firstElement()!;
  const op =
    pubsub.getChildren().find((c) =>
      c.name !== "publish-options" && c.name !== "configure" && c.name !== "options"
    ) ?? pubsub.getChild("configure");
  if (!op) throw pubsubError("modify", "bad-request");
  return { pubsub, op };
}

export function installPubsubIq(api: ModuleApi, pep: PepService): void {
  const selfUser = (ev: StanzaEvent) => ev.origin!.username!;
  const EMPTY = api.EMPTY_RESULT;

  /** Items of `node` for `requester`, checked against the access model. */
  const items = async (owner: string, requester: string, op: Element) => {
    const name = nodeAttr(op);
    const node = await pep.engine.requireNode(owner, name);
    const denied = await pep.accessError(owner, node, requester);
    if (denied) throw denied;
    const ids = op.getChildren("item").map((i) => i.attrs.id ?? "").filter((id) => id !== "");
    const maxAttr = op.attrs.max_items;
    const max = maxAttr !== undefined && /^\d{1,9}$/.test(maxAttr) ? Number(maxAttr) : undefined;
    const found = await pep.engine.items(owner, node, ids.length > 0 ? { ids } : { max });
    if (ids.length > 0 && found.length === 0) throw pubsubError("cancel", "item-not-found");
    return el(
      "pubsub",
      { xmlns: NS_PUBSUB },
      el("items", { node: name }, ...found.map((i) => itemElement(i))),
    );
  };

  // ---- the account's own requests --------------------------------------

  const route = (type: "get" | "set", xmlns: string, to: "self" | "bare") => ({
    type,
    xmlns,
    name: "pubsub",
    to,
  });

  api.handleIq(route("get", NS_PUBSUB, "self"), (ev) => {
    const { op } = action(ev);
    if (op.name !== "items") throw pubsubError("cancel", "feature-not-implemented");
    const user = selfUser(ev);
    return items(user, pep.bareOf(user), op);
  });

  api.handleIq(route("set", NS_PUBSUB, "self"), async (ev) => {
    const user = selfUser(ev);
    const own = pep.bareOf(user);
    const { pubsub, op } = action(ev);
    switch (op.name) {
      case "publish": {
        const { node: name, item, payloads, options } = publishRequest(pubsub, op);
        const { item: stored } = await pep.publish(user, {
          node: name,
          id: item?.attrs.id,
          payload: payloads[0],
          publisher: own,
          options,
          autoCreate: true,
          // XEP-0060 §7.1.3.6: checked against the node's (or new node's) event type.
          hasItem: item !== undefined,
        });
        return el(
          "pubsub",
          { xmlns: NS_PUBSUB },
          el("publish", { node: name }, el("item", { id: stored.id })),
        );
      }
      case "retract": {
        const name = nodeAttr(op);
        const ids = op.getChildren("item").map((i) => i.attrs.id ?? "");
        if (ids.length !== 1 || ids[0] === "") {
          throw pubsubError("modify", "bad-request", "item-required");
        }
        await pep.retract(user, name, ids[0], truthy(op.attrs.notify));
        return EMPTY;
      }
      case "create": {
        const name = nodeAttr(op);
        const configure = pubsub.getChild("configure");
        const form = configure ? parseForm(configure) : undefined;
        await pep.engine.createNode(user, name, own, form);
        return EMPTY;
      }
      case "subscribe":
      case "unsubscribe":
        return subscription(user, own, op);
      default:
        throw pubsubError("cancel", "feature-not-implemented");
    }
  });

  api.handleIq(route("get", NS_PUBSUB_OWNER, "self"), async (ev) => {
    const user = selfUser(ev);
    const op = ev.stanza.firstElement()!.firstElement();
    if (!op) throw pubsubError("modify", "bad-request");
    if (op.name === "default") {
      const models = pep.engine.options.accessModels;
      const payload = el("default", {}, configForm(pep.engine.options.defaults, "form", models));
      return el("pubsub", { xmlns: NS_PUBSUB_OWNER }, payload);
    }
    const node = await pep.engine.requireNode(user, nodeAttr(op));
    if (op.name === "configure") {
      const models = pep.engine.options.accessModels;
      return el(
        "pubsub",
        { xmlns: NS_PUBSUB_OWNER },
        configureElement(node.name, node.config, models),
      );
    }
    if (op.name === "affiliations") {
      return el("pubsub", { xmlns: NS_PUBSUB_OWNER }, affiliationsElement(node));
    }
    throw pubsubError("cancel", "feature-not-implemented");
  });

  api.handleIq(route("set", NS_PUBSUB_OWNER, "self"), async (ev) => {
    const user = selfUser(ev);
    const op = ev.stanza.firstElement()!.firstElement();
    if (!op) throw pubsubError("modify", "bad-request");
    const name = nodeAttr(op);
    switch (op.name) {
      case "configure": {
        const form = parseForm(op);
        if (!form) throw pubsubError("modify", "bad-request");
        await pep.configure(user, name, form);
        return EMPTY;
      }
      case "delete":
        await pep.deleteNode(user, name);
        return EMPTY;
      case "purge":
        await pep.purge(user, name);
        return EMPTY;
      case "affiliations": {
        const changes: [string, Affiliation][] = [];
        for (const a of op.getChildren("affiliation")) {
          const jid = parseJid(a.attrs.jid ?? "")?.bare;
          const aff = a.attrs.affiliation ?? "";
          if (!jid || !AFFILIATIONS.includes(aff)) throw pubsubError("modify", "bad-request");
          // The account stays the only owner and publisher of its PEP nodes.
          if (jid === pep.bareOf(user) || aff === "owner" || aff === "publisher") {
            throw pubsubError("modify", "not-acceptable");
          }
          changes.push([jid, aff as Affiliation]);
        }
        await pep.engine.setAffiliations(user, name, changes);
        return EMPTY;
      }
      default:
        throw pubsubError("cancel", "feature-not-implemented");
    }
  });

  // ---- other entities ---------------------------------------------------

  /** The account addressed, when it exists; else service-unavailable (no harvesting). */
  const owner = async (ev: StanzaEvent): Promise<string> => {
    const user = ev.to!.local!;
    if (!(await api.auth.userExists(api.domain, user))) {
      throw new StanzaError("cancel", "service-unavailable");
    }
    return user;
  };
  const requesterOf = (ev: StanzaEvent) => {
    const from = parseJid(ev.stanza.attrs.from ?? "");
    if (!from) throw new StanzaError("modify", "bad-request");
    return from;
  };

  const subscription = async (user: string, requester: string, op: Element) => {
    const name = nodeAttr(op);
    const jid = parseJid(op.attrs.jid ?? "");
    const on = op.name === "subscribe";
    if (!jid) throw pubsubError("modify", "bad-request", "invalid-jid");
    if (jid.bare !== parseJid(requester)?.bare) {
      // §6.1.3.1 and §6.2.3.3: a subscribe names a JID not the requester's,
      // an unsubscribe one it may not act for.
      throw on
        ? pubsubError("modify", "bad-request", "invalid-jid")
        : pubsubError("auth", "forbidden");
    }
    const node = await pep.engine.requireNode(user, name);
    if (on) {
      const denied = await pep.accessError(user, node, jid.bare);
      if (denied) throw denied;
    }
    await pep.engine.setSubscription(user, name, jid.full, on);
    if (!on) return EMPTY;
    return el(
      "pubsub",
      { xmlns: NS_PUBSUB },
      el("subscription", { node: name, jid: jid.full, subscription: "subscribed" }),
    );
  };

  api.handleIq(route("get", NS_PUBSUB, "bare"), async (ev) => {
    const user = await owner(ev);
    const { op } = action(ev);
    if (op.name !== "items") throw pubsubError("cancel", "feature-not-implemented");
    return items(user, requesterOf(ev).bare, op);
  });

  api.handleIq(route("set", NS_PUBSUB, "bare"), async (ev) => {
    const user = await owner(ev);
    const { op } = action(ev);
    if (op.name === "subscribe" || op.name === "unsubscribe") {
      return subscription(user, requesterOf(ev).full, op);
    }
    // Only the account publishes to its PEP nodes.
    throw pubsubError("auth", "forbidden");
  });

  const forbidden = async (ev: StanzaEvent): Promise<undefined> => {
    await owner(ev);
    throw pubsubError("auth", "forbidden");
  };
  api.handleIq(route("get", NS_PUBSUB_OWNER, "bare"), forbidden);
  api.handleIq(route("set", NS_PUBSUB_OWNER, "bare"), forbidden);
}

function affiliationsElement(node: StoredNode): Element {
  return el(
    "affiliations",
    { node: node.name },
    ...Object.entries(node.affiliations).map(([jid, affiliation]) =>
      el("affiliation", { jid, affiliation })
    ),
  );
}
