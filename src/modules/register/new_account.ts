/**
 * Creating an account before authentication (XEP-0077 §3.1, §3.1.1). The
 * core hands every pre-auth element to `stream-element`; this answers the
 * register iqs among them directly on the stream (no from/to: the client
 * has no address yet) and leaves everything else to the core, which ends
 * the stream with not-authorized.
 */
import type { Element } from "../../xml/element.ts";
import { StanzaError } from "../../core/errors.ts";
import type { ModuleApi } from "../../core/module_api.ts";
import type { Session } from "../../core/session.ts";
import { FailureThrottle } from "../../auth/throttle.ts";
import { addressKey } from "../../net/address_key.ts";
import { replyUnbound } from "./unbound_reply.ts";
import {
  checkPassword,
  checkUsername,
  NS_REGISTER,
  registrationFields,
  submittedFields,
} from "./fields.ts";

export function setupNewAccounts(api: ModuleApi): void {
  const settings = api.config.registration;
  // Counts accounts created per client IP; the throttle class bounds its
  // memory (oldest windows dropped past its key limit).
  const perIp = new FailureThrottle(settings.maxPerIp, settings.windowSeconds);

  api.hook("stream-element", ({ session, element }) => {
    if (session.type !== "c2s_unauthed" || !isRegisterIq(element, api.domain)) return false;
    // Credentials never cross an unencrypted stream unless the operator allowed it.
    if (!session.transport?.secure && !api.config.c2s.allowUnencrypted) return false;
    const type = element.attrs.type;
    if (type !== "get" && type !== "set") return type === "result" || type === "error";
    const query = element.getChild("query", NS_REGISTER)!;
    if (!settings.enabled) {
      // XEP-0077 §3.1: a host without in-band registration answers service-unavailable.
      replyUnbound(session, element, new StanzaError("cancel", "service-unavailable"));
      return true;
    }
    if (type === "get") {
      replyUnbound(session, element, registrationFields());
      return true;
    }
    return register(session, element, query).then(
      () => true,
      (err) => {
        api.log.error("registration failed: {err}", { err });
        replyUnbound(session, element, new StanzaError("wait", "internal-server-error"));
        return true;
      },
    );
  });

  async function register(session: Session, iq: Element, query: Element): Promise<void> {
    if (query.getChild("remove")) {
      // Nothing to remove before authentication (XEP-0077 §3.2 error table).
      return replyUnbound(session, iq, new StanzaError("cancel", "unexpected-request"));
    }
    const fields = submittedFields(query);
    const username = checkUsername(fields.username);
    if (username instanceof StanzaError) return replyUnbound(session, iq, username);
    const password = checkPassword(fields.password);
    if (password instanceof StanzaError) return replyUnbound(session, iq, password);
    const ip = session.transport?.remoteAddress ?? "";
    // An IPv6 client picks any address of its /64: counted as one, as logins are.
    const client = addressKey(ip);
    if (perIp.isBlocked(client)) {
      api.log.warn("{ip}: registration refused: {max} accounts in the window", {
        ip,
        max: settings.maxPerIp,
      });
      // XEP-0077 §3.1.1 names not-acceptable for too many registrations; "wait" says retry later.
      return replyUnbound(
        session,
        iq,
        new StanzaError("wait", "not-acceptable", "Too many accounts registered from this address"),
      );
    }
    // Counted before the await, so parallel connections cannot all pass the
    // check above; taken back when no account was made.
    perIp.fail(client);
    let created = false;
    let reserved = false;
    try {
      const result = await api.createAccount(username, password);
      created = result.created;
      reserved = !result.created && result.reason === "reserved";
    } finally {
      if (!created) perIp.undo(client);
    }
    if (session.destroyed) return;
    if (reserved) {
      // A deleted account's name (core/tombstones.ts). conflict, as for a
      // name in use (XEP-0077 §3.1): the remedy is the same, choose another;
      // not-acceptable would tell the client its form was incomplete.
      api.log.info("{ip}: registration of {user} refused: the name of a deleted account", {
        ip,
        user: username,
      });
      return replyUnbound(
        session,
        iq,
        new StanzaError("cancel", "conflict", "That username belonged to a deleted account"),
      );
    }
    if (!created) {
      return replyUnbound(
        session,
        iq,
        new StanzaError("cancel", "conflict", "That username is taken"),
      );
    }
    api.log.info("{user}@{host} registered in-band from {ip}", {
      user: username,
      host: api.domain,
      ip,
    });
    replyUnbound(session, iq);
  }
}

function isRegisterIq(element: Element, domain: string): boolean {
  if (element.name !== "iq" || element.attrs.xmlns !== undefined) return false;
  const to = element.attrs.to;
  if (to !== undefined && to.toLowerCase() !== domain) return false;
  return element.getChild("query", NS_REGISTER) !== undefined;
}
