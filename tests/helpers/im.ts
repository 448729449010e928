/**
 * A client the way IM clients log in: roster fetched first (so the
 * resource is interested and gets roster pushes and subscription
 * requests), then initial presence, waiting for its own echo so that
 * everything the login caused precedes it or follows it.
 */
import { TestClient } from "./client.ts";
import type { TestServer } from "./server.ts";

export async function imLogin(
  server: TestServer,
  user: string,
  password: string,
  resource: string,
  presence: string | false = "<presence/>",
): Promise<TestClient> {
  const c = await TestClient.login({
    port: server.ports.c2s,
    user,
    password,
    resource,
    presence: false,
  });
  c.send(`<iq type='get' id='roster0'><query xmlns='jabber:iq:roster'/></iq>`);
  await c.stanza((e) => e.attrs.id === "roster0");
  if (presence !== false) {
    c.send(presence);
    await c.stanza((e) => e.name === "presence" && e.attrs.from === c.jid);
  }
  return c;
}
