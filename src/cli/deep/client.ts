/** A logged-in resource of the deep check: iq round trips and waits over any Link. */
import { type Element, escapeAttr } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import type { Link } from "./link.ts";
import { authenticate } from "./sasl.ts";

let counter = 0;

export class DeepClient {
  jid = "";
  mechanism = "";
  /** The stream features before and after authentication, for the compliance table. */
  preAuthFeatures: Element | undefined;
  features: Element | undefined;
  constructor(readonly link: Link) {}

  /** Open, authenticate, bind `resource`; the post-auth features are kept for the report. */
  static async login(
    link: Link,
    user: string,
    password: string,
    resource: string,
  ): Promise<DeepClient> {
    const c = new DeepClient(link);
    const features = await link.open();
    c.preAuthFeatures = features;
    c.mechanism = await authenticate(link, features, user, password);
    c.features = await link.restart();
    const bound = await c.iq(
      "set",
      undefined,
      `<bind xmlns='${NS.bind}'><resource>${resource}</resource></bind>`,
    );
    c.jid = bound.getChild("bind", NS.bind)?.getChildText("jid") ?? "";
    if (!c.jid) throw new Error("bind returned no JID");
    return c;
  }

  send(xml: string): Promise<void> {
    return this.link.send(xml);
  }

  /** Send an iq and wait for its answer; an error answer throws with its condition. */
  async iq(type: "get" | "set", to: string | undefined, payload: string, ms?: number) {
    const id = `deep${++counter}`;
    const toAttr = to ? ` to='${escapeAttr(to)}'` : "";
    await this.link.send(`<iq type='${type}' id='${id}'${toAttr}>${payload}</iq>`);
    const answer = await this.link.next((e) => e.name === "iq" && e.attrs.id === id, ms);
    if (answer.attrs.type === "error") {
      const error = answer.getChild("error");
      const condition = error?.getChildren().find((c) => c.attrs.xmlns === NS.stanzas)?.name;
      throw new IqError(condition ?? "error", answer);
    }
    return answer;
  }

  /** The features a disco#info query to `to` lists (empty when it fails). */
  async discoFeatures(to: string | undefined): Promise<Set<string>> {
    try {
      const r = await this.iq("get", to, `<query xmlns='${NS.discoInfo}'/>`);
      const q = r.getChild("query", NS.discoInfo);
      return new Set(q?.getChildren("feature").map((f) => f.attrs.var ?? "") ?? []);
    } catch {
      return new Set();
    }
  }

  next(pred: (e: Element) => boolean, ms?: number): Promise<Element> {
    return this.link.next(pred, ms);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

export class IqError extends Error {
  constructor(readonly condition: string, readonly stanza: Element) {
    super(`iq error: ${condition}`);
  }
}
