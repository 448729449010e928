/**
 * What modules offer the SASL2 (XEP-0388) and Bind2 (XEP-0386) login
 * through the provider registry (`api.provide("sasl2-inline", …)`,
 * `api.provide("bind2-inline", …)`), so the stream core runs a module's
 * part of a one-round-trip login without importing the module.
 */
import type { Element } from "../xml/element.ts";
import type { Session } from "./session.ts";
import type { C2sStream } from "../stream/c2s.ts";
import type { SaslContext, SaslExchange } from "../auth/types.ts";

/**
 * A SASL mechanism offered only inside SASL2 by a module (FAST's HT-*,
 * XEP-0484), never in the regular mechanism lists.
 */
export interface Sasl2Mechanism {
  /** The names this stream may use (advertised by the module's own inline feature). */
  names(stream: C2sStream): string[];
  start(
    name: string,
    ctx: SaslContext,
    authenticate: Element,
    stream: C2sStream,
  ): SaslExchange | undefined;
}

/** A feature enabled inside `<bind xmlns='urn:xmpp:bind:0'/>` (carbons, CSI, SM enable). */
export interface Bind2Inline {
  /** Listed as `<feature var=ns/>` in the bind feature's `<inline/>`; children in this ns are ours. */
  ns: string;
  /**
   * One child of `<bind/>` in `ns`, handled right after the resource is
   * bound. Synchronous on purpose: nothing may reach the session between
   * binding and the SASL2 `<success/>`. Returns what goes into `<bound/>`.
   */
  handle(session: Session, element: Element, stream: C2sStream): Element | undefined;
}

/** What a SASL2 inline handler adds to `<success/>`, and what runs once it is sent. */
export interface Sasl2InlineResult {
  element?: Element;
  /** Runs after `<success/>` went out (stream management resends here). */
  after?: () => void;
}

export interface Sasl2InlineContext {
  session: Session;
  /** The child of `<authenticate/>` in this handler's namespace. */
  element: Element;
  /** The whole `<authenticate/>` (user agent, other inline requests). */
  authenticate: Element;
  /** The mechanism that authenticated. */
  mechanism: string;
  stream: C2sStream;
}

/** A feature negotiated inside `<authenticate/>` itself (SM resume, FAST tokens). */
export interface Sasl2Inline {
  ns: string;
  /** Advertised inside `<authentication><inline/>`; undefined: not on this stream. */
  feature(stream: C2sStream): Element | undefined;
  /**
   * Runs after authentication, before Bind2, in ascending `order`
   * (default 0). Handlers that adopt another session (SM resume) come
   * last and must not wait, for the reason Bind2Inline says.
   */
  order?: number;
  handle(
    ctx: Sasl2InlineContext,
  ): Sasl2InlineResult | undefined | Promise<Sasl2InlineResult | undefined>;
}
