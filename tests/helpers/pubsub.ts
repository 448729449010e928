/**
 * Pubsub service tests: a server with `pubsub.localhost`, logged-in
 * clients, and requests to the service returning its answer.
 */
import type { Element } from "../../src/xml/element.ts";
import { iq, TestClient } from "./client.ts";
import { merge, startTestServer, type TestServer } from "./server.ts";
import { onlineLogin } from "./online.ts";

export const PUBSUB = "pubsub.localhost";
export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_OWNER = NS_PUBSUB + "#owner";
export const NS_EVENT = NS_PUBSUB + "#event";
export const NS_ERRORS = NS_PUBSUB + "#errors";
export const NS_NODE_CONFIG = NS_PUBSUB + "#node_config";

export const USERS = { alice: "wonderland", bob: "builder", carol: "singer" };

export function startPubsubServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  return startTestServer(merge({ muc: { enabled: false } }, overrides), USERS);
}

/** Log in one of USERS (resource "r" unless named), online. */
export const login = onlineLogin(USERS);

let counter = 0;

/** An iq to the service with `payload` inside `<pubsub xmlns=ns>`; the answer. */
export function ps(
  c: TestClient,
  type: "get" | "set",
  payload: string,
  ns = NS_PUBSUB,
  to = PUBSUB,
): Promise<Element> {
  const id = "ps" + ++counter;
  return iq(
    c,
    id,
    `<iq type='${type}' id='${id}' to='${to}'><pubsub xmlns='${ns}'>${payload}</pubsub></iq>`,
  );
}

/** A submitted form of `FORM_TYPE` with the given fields. */
export function submitForm(formType: string, fields: Record<string, string | string[]>): string {
  const f = Object.entries(fields).map(([k, v]) =>
    `<field var='${k}'>${
      (Array.isArray(v) ? v : [v]).map((x) => `<value>${x}</value>`).join("")
    }</field>`
  ).join("");
  return `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' type='hidden'><value>${formType}</value></field>${f}</x>`;
}

/** The payload creating `node` with its configuration `fields` (XEP-0060 §8.1.3). */
export function createWithConfig(node: string, fields: Record<string, string> = {}): string {
  return `<create node='${node}'/><configure>${submitForm(NS_NODE_CONFIG, fields)}</configure>`;
}

/** The owner `c` submits `fields` as `node`'s configuration; the answer. */
export function configureNode(
  c: TestClient,
  node: string,
  fields: Record<string, string | string[]>,
): Promise<Element> {
  const form = submitForm(NS_NODE_CONFIG, fields);
  return ps(c, "set", `<configure node='${node}'>${form}</configure>`, NS_OWNER);
}

/** `node`'s configuration form, asked by its owner `c`, as values by var. */
export async function nodeConfig(c: TestClient, node: string): Promise<Map<string, string[]>> {
  const conf = await ps(c, "get", `<configure node='${node}'/>`, NS_OWNER);
  return formFields(
    conf.getChild("pubsub", NS_OWNER)!.getChild("configure")!.getChild("x", "jabber:x:data")!,
  );
}

/** The pubsub#errors application condition of an error reply. */
export function appCondition(reply: Element): string | undefined {
  return reply.getChild("error")?.getChildren().find((c) => c.attrs.xmlns === NS_ERRORS)?.name;
}

/** The next pubsub event message from the service to `c`. */
export function nextEvent(c: TestClient, pred: (event: Element) => boolean = () => true) {
  return c.stanza((e) =>
    e.name === "message" && e.attrs.from === PUBSUB &&
    e.getChild("event", NS_EVENT) !== undefined && pred(e.getChild("event", NS_EVENT)!)
  );
}

/** The item ids of an items result, in order. */
export function itemIds(reply: Element): string[] {
  return reply.getChild("pubsub", NS_PUBSUB)!.getChild("items")!.getChildren("item").map((i) =>
    i.attrs.id
  );
}

/** A form's values by var. */
export function formFields(x: Element): Map<string, string[]> {
  return new Map(
    x.getChildren("field").map((f) => [f.attrs.var, f.getChildren("value").map((v) => v.text())]),
  );
}
