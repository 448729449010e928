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

/** Offline messages stored for `user` on localhost. */
export const stored = (server: TestServer, user: string) =>
  server.storage.archive("localhost", "offline").count(user);

/** Poll storage (bounded) until `user` has `n` offline messages. */
export async function untilStored(server: TestServer, user: string, n: number): Promise<void> {
  const deadline = Date.now() + 3000;
  while (await stored(server, user) !== n) {
    if (Date.now() > deadline) {
      throw new Error(`expected ${n} stored, have ${await stored(server, user)}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
