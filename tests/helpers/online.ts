/**
 * Logging in the users of a test's account table, each one online: its
 * initial presence sent and its own presence back, so that whatever the
 * test reads next follows the login.
 */
import { TestClient } from "./client.ts";
import type { TestServer } from "./server.ts";

/** A login function for the accounts in `users` (name → password). */
export function onlineLogin<U extends string>(users: Record<U, string>) {
  return async (server: TestServer, user: U, resource = "r"): Promise<TestClient> => {
    const c = await TestClient.login({
      port: server.ports.c2s,
      user,
      password: users[user],
      resource,
    });
    // Our own presence comes back (RFC 6121 §4.2.2): out of the way.
    await c.stanza((e) => e.name === "presence" && e.attrs.from === c.jid);
    return c;
  };
}
