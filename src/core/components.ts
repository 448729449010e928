/**
 * The external components (XEP-0114) the config names, and which of them
 * hold a live stream. Shared by the component stream (which attaches and
 * detaches) and the component module (which delivers to them and lists
 * them in disco#items); neither imports the other.
 *
 * A component serves its domain and every subdomain of it: with
 * `gateway.example.net` configured, `icq.gateway.example.net` is its too.
 * When configured domains nest, the longest match owns the address.
 */
import type { Element } from "../xml/element.ts";
import type { StreamError } from "./errors.ts";
import { prepDomain } from "../jid.ts";

/** A connected component's stream, as the rest of the server sees it. */
export interface ComponentLink {
  readonly domain: string;
  /** Serialize a stanza onto the component's stream, as it is. */
  send(stanza: Element): void;
  /** End the stream (with a stream error when given). */
  close(error?: StreamError): void;
}

export class ComponentRegistry {
  #secrets = new Map<string, string>();
  #links = new Map<string, ComponentLink>();

  constructor(configured: Record<string, { secret: string }>) {
    for (const [name, { secret }] of Object.entries(configured)) {
      const domain = prepDomain(name);
      if (domain !== undefined) this.#secrets.set(domain, secret);
    }
  }

  /** Configured component domains, in config order. */
  get domains(): string[] {
    return [...this.#secrets.keys()];
  }

  get size(): number {
    return this.#secrets.size;
  }

  secretOf(domain: string): string | undefined {
    return this.#secrets.get(domain);
  }

  /** The configured component whose domain is `domain` or a parent of it. */
  owner(domain: string): string | undefined {
    for (let d = domain; d.length > 0;) {
      if (this.#secrets.has(d)) return d;
      const dot = d.indexOf(".");
      if (dot === -1) return undefined;
      d = d.slice(dot + 1);
    }
    return undefined;
  }

  link(component: string): ComponentLink | undefined {
    return this.#links.get(component);
  }

  /** False when that component is already connected: the caller refuses the newcomer. */
  attach(link: ComponentLink): boolean {
    if (this.#links.has(link.domain)) return false;
    this.#links.set(link.domain, link);
    return true;
  }

  detach(link: ComponentLink): void {
    if (this.#links.get(link.domain) === link) this.#links.delete(link.domain);
  }

  /** Server shutdown: every component stream ends with `error`. */
  closeAll(error: StreamError): void {
    for (const link of [...this.#links.values()]) link.close(error);
  }
}
