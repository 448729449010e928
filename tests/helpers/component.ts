/**
 * An external component (XEP-0114) as a test peer: the stream header and
 * the handshake, written once for every test that needs a component.
 */
import { createHash } from "node:crypto";
import { TestClient } from "./client.ts";
import type { TestServer } from "./server.ts";

/** The handshake's content: hex SHA-1 of the stream id and the shared secret. */
export function handshakeDigest(id: string, secret: string): string {
  return createHash("sha1").update(id + secret).digest("hex");
}

/** Open a component stream to `domain`; resolves with the server's stream id. */
export async function openComponent(
  server: TestServer,
  domain: string,
): Promise<{ c: TestClient; id: string }> {
  const c = await TestClient.connect({ port: server.ports.component });
  c.send(
    `<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' ` +
      `xmlns:stream='http://etherx.jabber.org/streams' to='${domain}'>`,
  );
  const opened = await c.next((f) => f.kind === "open");
  const attrs = (opened as { attrs: Record<string, string> }).attrs;
  return { c, id: attrs.id ?? "" };
}

/** A component for `domain` past its handshake. */
export async function connectComponent(
  server: TestServer,
  domain: string,
  secret: string,
): Promise<TestClient> {
  const { c, id } = await openComponent(server, domain);
  c.send(`<handshake>${handshakeDigest(id, secret)}</handshake>`);
  await c.stanza((e) => e.name === "handshake");
  return c;
}
