/** Stanza errors with XEP-0060's application conditions (`pubsub#errors`). */
import { el } from "../../../xml/element.ts";
import {
  StanzaError,
  type StanzaErrorCondition,
  type StanzaErrorType,
} from "../../../core/errors.ts";

export const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";

export function pubsubError(
  type: StanzaErrorType,
  condition: StanzaErrorCondition,
  app?: string,
  text?: string,
  feature?: string,
): StanzaError {
  const appEl = app === undefined ? undefined : el(app, { xmlns: NS_PUBSUB_ERRORS, feature });
  return new StanzaError(type, condition, text, undefined, appEl);
}
