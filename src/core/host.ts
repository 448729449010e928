/**
 * A hosted domain: its event hub, disco features and stream-feature
 * providers. Modules are loaded per host and talk only through these.
 * A user host serves accounts; a service host (`conference.<domain>`) is
 * an internal component of its parent user host, served by its modules.
 */
import type { Element } from "../xml/element.ts";
import type { HostConfig } from "../config/schema.ts";
import { EventHub } from "./events.ts";
import type { Session } from "./session.ts";
import { ProviderRegistry } from "./providers.ts";

export interface DiscoIdentity {
  category: string;
  type: string;
  name?: string;
}

/** Offers a stream feature to a session (or nothing, for this stage). */
export type StreamFeatureProvider = (session: Session) => Element | undefined;

export class Host {
  readonly events = new EventHub();
  /** Features this host lists in disco#info. */
  readonly discoFeatures = new Set<string>();
  /** Identities this host lists in disco#info (the disco module adds server/im). */
  readonly discoIdentities: DiscoIdentity[] = [];
  /** Features listed in disco#info of each user's bare JID (XEP-0030 §3.1 for accounts). */
  readonly accountFeatures = new Set<string>();
  readonly streamFeatures: StreamFeatureProvider[] = [];
  /** Items modules offer each other (api.provide / api.items). */
  readonly providers = new ProviderRegistry();

  /** A user host's service hosts (`conference.<domain>`…), listed in its disco#items. */
  readonly services: Host[] = [];

  /** Replaced by a config reload (modules, admins); the domain and kind never change. */
  constructor(public config: HostConfig) {}

  get domain(): string {
    return this.config.domain;
  }

  /**
   * "user": accounts, c2s logins, rosters, core delivery. "service": an
   * internal component, whose stanzas go to its service module only.
   */
  get kind(): "user" | "service" {
    return this.config.kind ?? "user";
  }

  /** A service host's user domain (undefined for a user host). */
  get parent(): string | undefined {
    return this.config.parent;
  }
}
