/**
 * What a refused connection gets before it is closed: a minimal stream
 * header and a stream error (RFC 6120 §4.9.1.1: the header first, even
 * for an error), `resource-constraint` when the server is full
 * (§4.9.3.18), `policy-violation` when the address is over its share
 * (§4.9.3.17). And a log that says so once per address per window, not
 * once per refused connection.
 */
import type { Refusal } from "./connection_limiter.ts";
import { NS } from "../xml/namespaces.ts";

const REASONS: Record<Refusal, { condition: string; text: string }> = {
  total: { condition: "resource-constraint", text: "Too many connections; try again later" },
  "per-ip": { condition: "policy-violation", text: "Too many connections from your address" },
  unauthenticated: {
    condition: "policy-violation",
    text: "Too many unauthenticated connections from your address",
  },
};

/** The whole answer to a refused connection, for a stream of `streamNamespace`. */
export function refusalStream(streamNamespace: string, refusal: Refusal): string {
  const { condition, text } = REASONS[refusal];
  return `<?xml version='1.0'?><stream:stream xmlns='${streamNamespace}' ` +
    `xmlns:stream='${NS.stream}' version='1.0'>` +
    `<stream:error><${condition} xmlns='${NS.streams}'/>` +
    `<text xmlns='${NS.streams}' xml:lang='en'>${text}</text></stream:error></stream:stream>`;
}

export function refusalCondition(refusal: Refusal): string {
  return REASONS[refusal].condition;
}

export function refusalReason(refusal: Refusal): string {
  return REASONS[refusal].text;
}
