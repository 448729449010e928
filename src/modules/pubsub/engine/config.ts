/**
 * Node configuration: defaults, the `pubsub#node_config` form in both
 * directions, and publish-options preconditions (XEP-0223, XEP-0060
 * §7.1.5). Pure functions.
 */
import { el, type Element } from "../../../xml/element.ts";
import { form, type FormField, type FormValues } from "../../../util/dataforms.ts";
import type { AccessModel, EngineLimits, NodeConfig, StoredNode } from "./types.ts";
import { pubsubError } from "./errors.ts";
import { NS_META_DATA } from "../../../xml/namespaces.ts";
export { NS_META_DATA };

export const NS_NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config";
export const NS_PUBLISH_OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";

/** The engine's defaults; a service overrides some (PEP: access_model presence). */
export const DEFAULT_CONFIG: Readonly<NodeConfig> = Object.freeze({
  access_model: "open",
  publish_model: "publishers",
  max_items: 1,
  persist_items: true,
  deliver_payloads: true,
  deliver_notifications: true,
  notify_retract: true,
  notify_delete: true,
  notify_config: false,
  send_last_published_item: "on_sub_and_presence",
  roster_groups_allowed: [],
  notification_type: "headline",
  title: "",
  type: "",
});

/** Longest roster group name (the roster module keeps none longer). */
const MAX_GROUP_NAME = 1023;
/** Groups one node's roster access model may name. */
const MAX_GROUPS_ALLOWED = 100;

const ACCESS = ["open", "presence", "roster", "whitelist", "authorize"];
const PUBLISH = ["publishers", "subscribers", "open"];
const SEND_LAST = ["never", "on_sub", "on_sub_and_presence"];
const BOOLEANS = [
  "persist_items",
  "deliver_payloads",
  "deliver_notifications",
  "notify_retract",
  "notify_delete",
  "notify_config",
] as const;

/** The number of items a node keeps under `limits`. */
export function effectiveMaxItems(config: NodeConfig, limits: EngineLimits): number {
  return config.max_items === "max"
    ? limits.maxItemsPerNode
    : Math.min(config.max_items, limits.maxItemsPerNode);
}

const bad = (field: string) =>
  pubsubError("modify", "not-acceptable", undefined, `Invalid value for pubsub#${field}`);

function parseBoolean(v: string, field: string): boolean {
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw bad(field);
}

function parseMaxItems(v: string, limits: EngineLimits): number | "max" {
  if (v === "max") return "max";
  if (!/^\d{1,9}$/.test(v)) throw bad("max_items");
  const n = Number(v);
  if (n < 1) throw bad("max_items");
  if (n > limits.maxItemsPerNode) {
    throw pubsubError(
      "modify",
      "not-acceptable",
      undefined,
      `pubsub#max_items is at most ${limits.maxItemsPerNode}`,
    );
  }
  return n;
}

/**
 * `base` with the form's `pubsub#…` fields applied. Unknown fields are
 * refused when `strict` (a configure form), ignored otherwise.
 */
export function applyConfigForm(
  base: NodeConfig,
  values: FormValues,
  limits: EngineLimits,
  strict = true,
): NodeConfig {
  const out: NodeConfig = { ...base, roster_groups_allowed: [...base.roster_groups_allowed] };
  for (const [name, vals] of values) {
    if (name === "FORM_TYPE") continue;
    const field = name.startsWith("pubsub#") ? name.slice(7) : undefined;
    const v = vals[0] ?? "";
    switch (field) {
      case "access_model":
        if (!ACCESS.includes(v)) throw bad(field);
        out.access_model = v as AccessModel;
        break;
      case "publish_model":
        if (!PUBLISH.includes(v)) throw bad(field);
        out.publish_model = v as NodeConfig["publish_model"];
        break;
      case "send_last_published_item":
        if (!SEND_LAST.includes(v)) throw bad(field);
        out.send_last_published_item = v as NodeConfig["send_last_published_item"];
        break;
      case "max_items":
        out.max_items = parseMaxItems(v, limits);
        break;
      case "roster_groups_allowed":
        // Kept in every cached node: as long as a roster group may be (a
        // longer one could never match), 100 of them.
        if (vals.some((g) => g.length > MAX_GROUP_NAME)) throw bad(field);
        out.roster_groups_allowed = vals.slice(0, MAX_GROUPS_ALLOWED);
        break;
      case "notification_type":
        if (v !== "headline" && v !== "normal") throw bad(field);
        out.notification_type = v;
        break;
      case "title":
      case "type":
        out[field] = v.slice(0, 1024);
        break;
      default:
        if ((BOOLEANS as readonly string[]).includes(field ?? "")) {
          out[field as typeof BOOLEANS[number]] = parseBoolean(v, field!);
        } else if (strict) {
          throw pubsubError("modify", "not-acceptable", undefined, `Unknown field ${name}`);
        }
    }
  }
  return out;
}

/** A config value as the form shows it. */
function formValues(config: NodeConfig, field: string): string[] {
  const v = (config as unknown as Record<string, unknown>)[field];
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "boolean") return [v ? "1" : "0"];
  return [String(v)];
}

/**
 * XEP-0223 / XEP-0060 §7.1.5: every publish-options field must equal the
 * node's configuration, else `conflict` + `precondition-not-met`. A field
 * the node has no such option for fails too. Booleans compare by value
 * ("true" = "1"); max_items "max" matches the server's maximum as well.
 */
export function checkPreconditions(
  config: NodeConfig,
  options: FormValues,
  limits: EngineLimits,
): void {
  for (const [name, vals] of options) {
    if (name === "FORM_TYPE") continue;
    const field = name.startsWith("pubsub#") ? name.slice(7) : "";
    if (!(field in config)) throw preconditionNotMet(name);
    let wanted: string[];
    try {
      wanted = formValues(applyConfigForm(config, new Map([[name, vals]]), limits), field);
    } catch {
      throw preconditionNotMet(name);
    }
    let have = formValues(config, field);
    if (field === "max_items") {
      wanted = [String(effectiveMaxItems({ ...config, max_items: parseMax(wanted[0]) }, limits))];
      have = [String(effectiveMaxItems(config, limits))];
    }
    if (wanted.length !== have.length || wanted.some((w, i) => w !== have[i])) {
      throw preconditionNotMet(name);
    }
  }
}

/**
 * Publish-options creating a node (XEP-0060 §7.1.5 auto-create): a field
 * the node has no option for fails as it would against an existing node
 * (`checkPreconditions`), rather than creating a node that then refuses
 * every publish with the same options.
 */
export function checkOptionsKnown(options: FormValues): void {
  for (const name of options.keys()) {
    if (name === "FORM_TYPE") continue;
    const field = name.startsWith("pubsub#") ? name.slice(7) : "";
    if (!Object.hasOwn(DEFAULT_CONFIG, field)) throw preconditionNotMet(name);
  }
}

const parseMax = (v: string): number | "max" => v === "max" ? "max" : Number(v);

function preconditionNotMet(field: string) {
  return pubsubError("cancel", "conflict", "precondition-not-met", `${field} does not match`);
}

/**
 * The node configuration as a form (XEP-0060 §8.2), of `type` form or
 * result, offering the access models given (default: all).
 */
export function configForm(
  config: NodeConfig,
  type: "form" | "result" = "form",
  accessModels: readonly string[] = ACCESS,
): Element {
  const fields: FormField[] = [
    {
      var: "pubsub#access_model",
      type: "list-single",
      values: [config.access_model],
      options: accessModels.map((value) => ({ value })),
    },
    {
      var: "pubsub#publish_model",
      type: "list-single",
      values: [config.publish_model],
      options: PUBLISH.map((value) => ({ value })),
    },
    { var: "pubsub#max_items", type: "text-single", values: [String(config.max_items)] },
    {
      var: "pubsub#send_last_published_item",
      type: "list-single",
      values: [config.send_last_published_item],
      options: SEND_LAST.map((value) => ({ value })),
    },
    ...BOOLEANS.map((b): FormField => ({
      var: "pubsub#" + b,
      type: "boolean",
      values: formValues(config, b),
    })),
    {
      var: "pubsub#roster_groups_allowed",
      type: "list-multi",
      values: config.roster_groups_allowed,
    },
    {
      var: "pubsub#notification_type",
      type: "list-single",
      values: [config.notification_type],
      options: [{ value: "headline" }, { value: "normal" }],
    },
    { var: "pubsub#title", type: "text-single", values: [config.title] },
    { var: "pubsub#type", type: "text-single", values: [config.type] },
  ];
  return form(type, fields, { formType: NS_NODE_CONFIG });
}

/** `<configure node=…>` with the form, for a configure get. */
export function configureElement(
  node: string,
  config: NodeConfig,
  accessModels?: readonly string[],
): Element {
  return el("configure", { node }, configForm(config, "form", accessModels));
}

/**
 * XEP-0060 §5.4: the node's meta-data form for its disco#info (owners,
 * access and publish models, type, title, creation date).
 */
export function metaDataForm(node: StoredNode): Element {
  const owners = Object.entries(node.affiliations).filter(([, a]) => a === "owner").map(([j]) => j);
  const fields: FormField[] = [
    { var: "pubsub#owner", type: "jid-multi", values: owners },
    { var: "pubsub#access_model", type: "list-single", values: [node.config.access_model] },
    { var: "pubsub#publish_model", type: "list-single", values: [node.config.publish_model] },
    { var: "pubsub#max_items", type: "text-single", values: [String(node.config.max_items)] },
    {
      var: "pubsub#persist_items",
      type: "boolean",
      values: formValues(node.config, "persist_items"),
    },
    { var: "pubsub#type", type: "text-single", values: [node.config.type] },
    { var: "pubsub#title", type: "text-single", values: [node.config.title] },
    {
      var: "pubsub#creation_date",
      type: "text-single",
      values: [new Date(node.created).toISOString()],
    },
  ];
  return form("result", fields, { formType: NS_META_DATA });
}
