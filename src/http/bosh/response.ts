/**
 * Writing BOSH response bodies (XEP-0124 §6, XEP-0206): what the stream
 * core sends is written in the stream's content namespace, so each
 * element standing alone in a `<body/>` gets its namespace added.
 */
import { openTag } from "../../xml/element.ts";
import { NS } from "../../xml/namespaces.ts";
import type { StreamOpenAttrs } from "../../stream/transport.ts";
import { qualify as standalone } from "../../stream/websocket/framing.ts";
import { NS_HTTPBIND, NS_XBOSH } from "./body.ts";

/** The XEP-0124 version spoken. */
export const BOSH_VERSION = "1.11";
/** The shortest polling interval we ask of a client that holds no request (`polling`). */
const POLLING_SECONDS = 2;

/**
 * `data` (one serialized top-level element) as it must appear inside a
 * `<body/>`: an unprefixed element without an xmlns gets jabber:client,
 * as in a WebSocket message. `stream:` elements (at the top or deeper)
 * are left alone: they use the `xmlns:stream` the body declares.
 */
export function qualify(data: string): string {
  return data.startsWith("<stream:") ? data : standalone(data, NS.client);
}

/** A response `<body/>` with `attrs` around `payload` (already qualified). */
export function bodyXml(
  attrs: Record<string, string | undefined>,
  payload: readonly string[] = [],
): string {
  const all: Record<string, string | undefined> = { xmlns: NS_HTTPBIND, ...attrs };
  // Also for one deep inside a stanza (a peer put it there): `<` appears
  // in serialized XML only to start markup.
  if (payload.some((p) => p.includes("<stream:"))) all["xmlns:stream"] = NS.stream;
  if (attrs["xmpp:version"] !== undefined || attrs["xmpp:restartlogic"] !== undefined) {
    all["xmlns:xmpp"] = NS_XBOSH;
  }
  const open = openTag("body", all);
  if (payload.length === 0) return open.slice(0, -1) + "/>";
  return open + payload.join("") + "</body>";
}

/**
 * The terminal binding conditions of XEP-0124 §17.2 this server uses;
 * `remote-stream-error` carries the `<stream:error/>` (XEP-0206 §6).
 */
export type TerminalCondition =
  | "bad-request"
  | "host-gone"
  | "host-unknown"
  | "improper-addressing"
  | "internal-server-error"
  | "item-not-found"
  | "policy-violation"
  | "remote-connection-failed"
  | "remote-stream-error"
  | "see-other-uri"
  | "system-shutdown"
  | "undefined-condition";

/** `<body type='terminate'/>`, with a condition if it is an error. */
export function terminateXml(
  condition?: TerminalCondition,
  payload: readonly string[] = [],
): string {
  return bodyXml({ type: "terminate", condition }, payload);
}

/** XEP-0124 §7.2 and XEP-0206 §5: the session creation answer's attributes. */
export function creationAttrs(
  p: {
    sid: string;
    wait: number;
    hold: number;
    inactivity: number;
    maxPause: number;
    acks: boolean;
  },
  requests: number,
  header: StreamOpenAttrs | undefined,
  rid: number,
): Record<string, string | undefined> {
  return {
    sid: p.sid,
    wait: String(p.wait),
    requests: String(requests),
    hold: String(p.hold),
    inactivity: String(p.inactivity),
    polling: String(POLLING_SECONDS),
    maxpause: p.maxPause > 0 ? String(p.maxPause) : undefined,
    ver: BOSH_VERSION,
    from: header?.from,
    authid: header?.id,
    // §9.1: a client asking for acknowledgements learns we do them.
    ack: p.acks ? String(rid) : undefined,
    "xmpp:version": header?.version ?? "1.0",
    "xmpp:restartlogic": "true",
  };
}
