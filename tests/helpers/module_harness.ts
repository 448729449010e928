/**
 * A host with core delivery, a router and one bound client session whose
 * output is collected, plus module APIs made on it: for unit tests of the
 * module API without sockets. `fromPeer` hands the router a stanza as a
 * peer server would (for answers to server-originated iqs).
 */
import { stubConnection } from "./stub_connection.ts";
import { XmlStreamTransport } from "../../src/stream/xml_stream.ts";
import { Host } from "../../src/core/host.ts";
import { Router } from "../../src/core/router.ts";
import { SessionRegistry } from "../../src/core/sessions.ts";
import { Session } from "../../src/core/session.ts";
import { installDelivery } from "../../src/core/delivery.ts";
import { createModuleApi, type ModuleApi, type ServerParts } from "../../src/core/module_api.ts";
import { ModuleRegistrations } from "../../src/core/module_registrations.ts";
import { logger } from "../../src/log.ts";

export const DOMAIN = "example.org";

export function moduleHarness() {
  const out: string[] = [];
  const conn = stubConnection((d) => void out.push(d));
  const host = new Host({ domain: DOMAIN, modules: [], admins: [] });
  const router = new Router(new Map([[DOMAIN, host]]));
  const sessions = new SessionRegistry({
    conflict: "replace",
    maxResourcesPerUser: 4,
    dispatch: (s, st) => router.fromClient(s, st),
  });
  sessions.addHost(DOMAIN, host.events);
  installDelivery(host, { router, sessions });
  const session = new Session("s1", {
    transport: new XmlStreamTransport(conn),
    close() {},
    adopt() {},
  });
  session.type = "c2s";
  session.host = DOMAIN;
  session.username = "juliet";
  sessions.bind(session, "balcony");
  const parts = { router, sessions } as unknown as ServerParts;
  /** A module API whose registrations `registrations.dispose()` undoes (an unload). */
  const api = (name = "test"): { api: ModuleApi; registrations: ModuleRegistrations } => {
    const registrations = new ModuleRegistrations(logger("mod", name));
    return { api: createModuleApi(name, host, parts, registrations), registrations };
  };
  return { out, host, router, session, api };
}

/** Let pending promise callbacks run. */
export const settle = () => new Promise((r) => setTimeout(r, 0));

/**
 * Await `p` while holding the event loop open: the API's timers are
 * unref'd, so a test waiting on one alone would end the loop first.
 */
export async function keepAlive<T>(p: Promise<T>): Promise<T> {
  const timer = setInterval(() => {}, 1000);
  try {
    return await p;
  } finally {
    clearInterval(timer);
  }
}
