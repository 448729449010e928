/**
 * The HTTP side of BOSH at `/http-bind`: POSTed `<body/>`s in, `<body/>`s
 * out (text/xml; charset=utf-8), CORS for the configured origins, the
 * body size bound. `boshHandler` is what the HTTP server's route calls.
 */
import type { Config } from "../../config/schema.ts";
import type { C2sServices } from "../../stream/c2s.ts";
import { logger } from "../../log.ts";
import { BodyTimedOut, BodyTooLarge, limitBody } from "../limits.ts";
import { parseBody, parseRid } from "./body.ts";
import { CorsPolicy } from "./cors.ts";
import { terminateXml } from "./response.ts";
import { BoshSessions, type PeerInfo } from "./sessions.ts";

const log = logger("c2s", "bosh");

export type BoshHandler = ((req: Request, info: PeerInfo) => Promise<Response>) & {
  readonly sessions: BoshSessions;
  /** Server shutdown: end every session and answer the requests they hold. */
  close(): void;
};

const XML_HEADERS = { "content-type": "text/xml; charset=utf-8", "cache-control": "no-store" };

export function boshHandler(services: C2sServices, config: Config = services.config): BoshHandler {
  const sessions = new BoshSessions(services, config);
  const cors = new CorsPolicy(config.bosh.corsOrigins);
  const limits = {
    maxStanzaSize: config.c2s.maxStanzaSize,
    maxStanzaDepth: config.c2s.maxStanzaDepth,
    maxStanzas: config.bosh.maxStanzasPerBody,
  };

  /** The answer to one body (a promise while the request is held). */
  function answer(text: string, peer: PeerInfo): string | Promise<string> {
    const parsed = parseBody(text, limits);
    if (!parsed.ok) {
      log.debug("{ip}: bad BOSH body: {text}", { ip: peer.remoteAddress, text: parsed.text });
      // §17.2: bad-request is terminal: the session it names ends too.
      const session = parsed.sid === undefined ? undefined : sessions.get(parsed.sid);
      return session ? session.refuse(parsed.condition) : terminateXml(parsed.condition);
    }
    const { body } = parsed;
    const rid = parseRid(body.attrs.rid);
    const sid = body.attrs.sid;
    if (rid === undefined) {
      const session = sid === undefined ? undefined : sessions.get(sid);
      return session ? session.refuse("bad-request") : terminateXml("bad-request");
    }
    if (sid === undefined) {
      const session = sessions.create(body, rid, peer);
      return typeof session === "string"
        ? terminateXml(session)
        : session.request(rid, body, text.length);
    }
    const session = sessions.get(sid);
    return session ? session.request(rid, body, text.length) : terminateXml("item-not-found");
  }

  const handler = async (req: Request, peer: PeerInfo): Promise<Response> => {
    const origin = req.headers.get("origin");
    if (req.method === "OPTIONS") return cors.preflight(origin);
    const corsHeaders = cors.headers(origin);
    if (req.method !== "POST") {
      return new Response("XMPP over BOSH (XEP-0206): POST <body/> here.\n", {
        status: 405,
        headers: { allow: "POST, OPTIONS", "content-type": "text/plain", ...corsHeaders },
      });
    }
    const text = await readBody(req, config.bosh.maxBodyBytes);
    // The server's deadline (http.bodyTimeoutSeconds): thrown on to its 408.
    if (text === "timed-out") throw new BodyTimedOut("BOSH request body not received in time");
    if (text === "too-large") {
      return new Response("Request body too large\n", {
        status: 413,
        headers: { "content-type": "text/plain", ...corsHeaders },
      });
    }
    let xml: string;
    try {
      xml = text === "bad-encoding" ? terminateXml("bad-request") : await answer(text, peer);
    } catch (err) {
      // A bug, not the client's doing: this request fails, the server goes on.
      log.error("{ip}: BOSH request failed: {err}", { ip: peer.remoteAddress, err });
      xml = terminateXml("internal-server-error");
    }
    return new Response(xml, { headers: { ...XML_HEADERS, ...corsHeaders } });
  };
  return Object.assign(handler, { sessions, close: () => sessions.close() });
}

/**
 * The request body as text, read no further than `max` bytes (the HTTP
 * server's own, larger or not, bound applies as well: either answers 413).
 */
async function readBody(
  req: Request,
  max: number,
): Promise<string | "too-large" | "timed-out" | "bad-encoding"> {
  const limited = limitBody(req, max);
  if (limited === "too-large") return "too-large";
  let bytes: ArrayBuffer;
  try {
    bytes = await limited.arrayBuffer();
  } catch (err) {
    if (err instanceof BodyTimedOut) return "timed-out";
    return err instanceof BodyTooLarge ? "too-large" : "bad-encoding";
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return "bad-encoding";
  }
}
