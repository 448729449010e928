/**
 * External service discovery (XEP-0215): the STUN and TURN servers of
 * `externalServices.services`, for local users' clients to place audio and
 * video calls through.
 *
 * - `<services xmlns='urn:xmpp:extdisco:2' [type=…]/>` to the server (or
 *   with no `to`): every service, or those of one type. A service with a
 *   `secret` is `restricted` and carries fresh temporary credentials for
 *   the asking user (credentials.ts) with their `expires` time; one with a
 *   fixed `username`/`password` carries those.
 * - `<credentials><service host=… type=… [port=…]/></credentials>`: fresh
 *   credentials for the matching services; none matching → item-not-found.
 *
 * Only sessions of this server's accounts may ask (`forbidden` otherwise):
 * the credentials open a relay that costs bandwidth.
 */
import { el, type Element } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ParleyModule } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import type { Config } from "../../config/schema.ts";
import { turnCredentials } from "./credentials.ts";

export const NS_EXTDISCO = "urn:xmpp:extdisco:2";

type ServiceConfig = Config["externalServices"]["services"][string];

/** XEP-0082 DateTime, whole seconds, UTC. */
function dateTime(d: Date): string {
  return d.toISOString().replace(/\.\d+Z$/, "Z");
}

export const externalServicesModule: ParleyModule = {
  name: "external_services",
  setup(api) {
    const { services: configured, credentialLifetimeSeconds: lifetime } =
      api.config.externalServices;
    const services = Object.values(configured);
    if (services.length === 0) return;
    api.addFeature(NS_EXTDISCO);

    /** The `<service/>` element for `user`, with credentials when it has any. */
    const describe = async (s: ServiceConfig, user: string): Promise<Element> => {
      const service = el("service", {
        type: s.type,
        host: s.host,
        port: s.port === undefined ? undefined : String(s.port),
        transport: s.transport,
        name: s.name,
      });
      if (s.secret !== undefined) {
        const c = await turnCredentials(s.secret, user, lifetime);
        service.setAttr("restricted", "1");
        service.setAttr("username", c.username);
        service.setAttr("password", c.password);
        service.setAttr("expires", dateTime(c.expires));
      } else if (s.username !== undefined || s.password !== undefined) {
        service.setAttr("restricted", "1");
        service.setAttr("username", s.username);
        service.setAttr("password", s.password);
      }
      return service;
    };

    /** The asking account's bare JID: local sessions only. */
    const localUser = (ev: StanzaEvent): string => {
      const bare = ev.origin?.bareJid;
      if (bare === undefined) {
        throw new StanzaError("auth", "forbidden", "Only this server's users may ask");
      }
      return bare;
    };

    const listServices = async (ev: StanzaEvent) => {
      const user = localUser(ev);
      const type = ev.stanza.firstElement()!.attrs.type;
      const chosen = services.filter((s) => type === undefined || s.type === type);
      const list = await Promise.all(chosen.map((s) => describe(s, user)));
      api.replyResult(ev, el("services", { xmlns: NS_EXTDISCO, type }, ...list));
      return true;
    };

    const credentials = async (ev: StanzaEvent) => {
      const user = localUser(ev);
      // Bounded by the config: at most one answer per configured service.
      const wanted = ev.stanza.firstElement()!.getChildren("service").slice(0, services.length);
      const matches = (s: ServiceConfig, w: Element) =>
        s.host === w.attrs.host && s.type === w.attrs.type &&
        (w.attrs.port === undefined || String(s.port ?? "") === w.attrs.port);
      const found = services.filter((s) =>
        (s.secret !== undefined || s.username !== undefined) && wanted.some((w) => matches(s, w))
      );
      if (found.length === 0) {
        throw new StanzaError("cancel", "item-not-found", "No such service with credentials");
      }
      const list = await Promise.all(found.map((s) => describe(s, user)));
      api.replyResult(ev, el("credentials", { xmlns: NS_EXTDISCO }, ...list));
      return true;
    };

    for (const to of ["host", "self"]) {
      api.hook(`iq-get/${to}/${NS_EXTDISCO}:services`, listServices);
      api.hook(`iq-get/${to}/${NS_EXTDISCO}:credentials`, credentials);
    }
  },
};
