/**
 * A hosted domain: its event hub, disco features and stream-feature
 * providers. Modules are loaded per host and talk only through these.
 */
import type { Element } from "../xml/element.ts";
import type { HostConfig } from "../config/schema.ts";
import { EventHub } from "./events.ts";
import type { Session } from "./session.ts";

/** Offers a stream feature to a session (or nothing, for this stage). */
export type StreamFeatureProvider = (session: Session) => Element | undefined;

export class Host {
  readonly events = new EventHub();
  /** Features this host lists in disco#info. */
  readonly discoFeatures = new Set<string>();
  readonly streamFeatures: StreamFeatureProvider[] = [];

  constructor(readonly config: HostConfig) {}

  get domain(): string {
    return this.config.domain;
  }
}
