/**
 * A SASL2 (XEP-0388) login that authenticated: the inline requests of
 * `<authenticate/>` (SM resumption, FAST tokens…), then Bind2 with its
 * inline enables, all answered in the one `<success/>`, then the new
 * stream features. No stream restart (XEP-0388).
 */
import type { Element } from "../xml/element.ts";
import { NS } from "../xml/namespaces.ts";
import { logger } from "../log.ts";
import { encodeBase64 } from "../util/base64.ts";
import type { Sasl2InlineResult } from "../core/inline_features.ts";
import { sasl2Success, userAgentId } from "./sasl2.ts";
import { bindInline } from "./bind2.ts";
import type { C2sStream } from "./c2s.ts";

const log = logger("c2s");

export async function completeSasl2(
  stream: C2sStream,
  authenticate: Element,
  mechanism: string,
  data: Uint8Array | undefined,
): Promise<void> {
  const host = stream.services.hosts.get(stream.session.host!)!;
  const extra: Element[] = [];
  const after: (() => void)[] = [];
  const handlers = [...host.providers.items("sasl2-inline")]
    .sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  for (const handler of handlers) {
    const element = authenticate.getChildren().find((c) => c.attrs.xmlns === handler.ns);
    if (!element) continue;
    let result: Sasl2InlineResult | undefined;
    try {
      result = await handler.handle({
        session: stream.session,
        element,
        authenticate,
        mechanism,
        stream,
      });
    } catch (err) {
      log.error("{who}: SASL2 inline {ns} failed: {err}", {
        who: stream.who(),
        ns: handler.ns,
        err,
      });
    }
    if (stream.closed) return;
    if (result?.element) extra.push(result.element);
    if (result?.after) after.push(result.after);
  }
  // Read after the handlers: SM resumption hands the stream another session.
  // A resumed session is bound already: Bind2 is for new sessions only.
  const session = stream.session;
  const bind = authenticate.getChild("bind", NS.bind2);
  if (bind && session.fullJid === undefined) {
    const bound = bindInline(stream, bind, userAgentId(authenticate));
    if (bound) extra.push(bound);
  }
  stream.send(sasl2Success(
    data && data.length ? encodeBase64(data) : undefined,
    session.fullJid ?? session.bareJid!,
    extra,
  ));
  // XEP-0388 §2.6: "immediately followed by a <features> element containing the
  // applicable stream features of the newly authenticated stream" (no restart).
  // Clients such as xmpp.js look for <sm/> and <csi/> there.
  if (stream.closed) return;
  stream.send(stream.features());
  for (const fn of after) fn();
}
