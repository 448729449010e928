/**
 * XMPP Ping (XEP-0199), both ways. The server answers pings addressed to
 * it, so clients can check their connection (and the load generator its
 * logins). And it pings bound clients that have sent nothing for
 * `ping.idleSeconds`, closing the stream with `connection-timeout` when
 * nothing at all (a result, an error, any other data: each proves the
 * peer is there) arrives within `ping.timeoutSeconds`.
 *
 * One timer per host sweeps the bound sessions; it runs only while some
 * are bound and never keeps the process alive. Liveness is read from
 * `session.lastActivity`, which the stream updates on every read, so the
 * ping's answer needs no handler of its own.
 */
import { el } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { StreamError } from "../core/errors.ts";
import type { ParleyModule } from "../core/module_api.ts";
import type { Session } from "../core/session.ts";
import type { SessionEvent } from "../core/sessions.ts";
import { randomId } from "../util/random.ts";

/** Sweeps at least this far apart, whatever the configured times. */
const MIN_SWEEP_MS = 250;

export const pingModule: ParleyModule = {
  name: "ping",
  setup(api) {
    api.addFeature(NS.ping);
    // A ping with no `to` is for the account, answered by the server on
    // its behalf (RFC 6120 §10.3.3): the reply then has no `from` either.
    // profanity's /ping sends one without `to`.
    api.handleIq(
      { type: "get", xmlns: NS.ping, name: "ping", to: ["host", "self"] },
      () => api.EMPTY_RESULT,
    );

    const idleMs = api.config.ping.idleSeconds * 1000;
    const timeoutMs = api.config.ping.timeoutSeconds * 1000;
    if (idleMs === 0) return;
    const sweepMs = Math.max(MIN_SWEEP_MS, Math.min(idleMs, timeoutMs) / 2);

    const bound = new Set<Session>();
    /** When the outstanding ping of a session was sent. */
    const pinged = new WeakMap<Session, number>();
    let stopTimer: (() => void) | undefined;

    const sweep = () => {
      const now = Date.now();
      for (const s of bound) {
        if (s.destroyed) {
          bound.delete(s);
          continue;
        }
        // Nobody to ping: stream management ends it when its time is up.
        if (s.hibernating) continue;
        const sentAt = pinged.get(s);
        if (sentAt !== undefined) {
          if (s.lastActivity >= sentAt) {
            pinged.delete(s); // it spoke: alive
          } else if (now - sentAt >= timeoutMs) {
            api.log.info("{jid}: no answer to a ping, closing", { jid: s.fullJid });
            pinged.delete(s);
            // The link is dead, not the client: a session that may be
            // resumed (XEP-0198) hibernates instead of ending here.
            api.connectionLost(
              s,
              new StreamError("connection-timeout", "No answer to a ping"),
            );
            continue;
          } else {
            continue;
          }
        }
        if (now - s.lastActivity >= idleMs) {
          pinged.set(s, now);
          s.send(
            el(
              "iq",
              { type: "get", from: api.domain, to: s.fullJid, id: "ping-" + randomId(8) },
              el("ping", { xmlns: NS.ping }),
            ),
          );
        }
      }
      if (bound.size === 0) stop();
    };

    const stop = () => {
      stopTimer?.();
      stopTimer = undefined;
    };

    api.hook("resource-bind", (ev: SessionEvent) => {
      bound.add(ev.session);
      // Unref'd: an idle check never keeps the process alive.
      stopTimer ??= api.setInterval(sweep, sweepMs);
    });
    api.hook("resource-unbind", (ev: SessionEvent) => {
      bound.delete(ev.session);
      if (bound.size === 0) stop();
    });
  },
};
