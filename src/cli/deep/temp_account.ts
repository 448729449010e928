/**
 * The deep check's temporary account. Created, in order of preference:
 * 1. in-band (XEP-0077) when the server offers registration: exactly what
 *    a client would do, nothing touched behind the server's back;
 * 2. through the storage and auth provider, as `parley adduser` does, when
 *    the storage is a file the running server shares (SQLite in WAL mode
 *    allows a second writer process);
 * 3. not at all with the `insecure` auth provider, which makes accounts
 *    on first login.
 * Memory storage with the internal provider leaves no way in: reported.
 * Removal is always XEP-0077 `<remove/>` by the account itself, so the
 * server closes its sessions and fires its events; the storage path then
 * also makes sure the credentials are gone.
 */
import type { Config } from "../../config/schema.ts";
import { NS_REGISTER } from "../../modules/register/fields.ts";
import { DeepClient } from "./client.ts";
import type { Link } from "./link.ts";

export type Creation = "in-band" | "storage" | "insecure";

export interface TempAccount {
  user: string;
  password: string;
  how: Creation;
}

export function newCredentials(): { user: string; password: string } {
  const hex = (n: number) =>
    Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  return { user: `parley-check-${hex(4)}`, password: hex(16) };
}

/** Creates the account; throws with what the operator can do when no way is open. */
export async function createTempAccount(
  config: Config,
  domain: string,
  link: Link,
): Promise<TempAccount> {
  const { user, password } = newCredentials();
  const features = await link.open();
  try {
    if (features.getChild("register", "http://jabber.org/features/iq-register")) {
      const c = new DeepClient(link);
      await c.iq(
        "set",
        undefined,
        `<query xmlns='${NS_REGISTER}'><username>${user}</username><password>${password}</password></query>`,
      );
      return { user, password, how: "in-band" };
    }
  } finally {
    await link.close();
  }
  if (config.storage.driver !== "memory") {
    await withStores(config, async (stores) => {
      const { createAccount } = await import("../../core/accounts.ts");
      const r = await createAccount(stores, domain, user, password);
      if (!r.created) throw new Error(`cannot create ${user}@${domain}: ${r.reason}`);
    });
    return { user, password, how: "storage" };
  }
  if (config.auth.provider === "insecure") return { user, password, how: "insecure" };
  throw new Error(
    "no way to create a temporary account: in-band registration is off (registration.enabled) " +
      "and the storage is in memory, which only the server process can reach",
  );
}

/** After the in-band removal: whether the account is really gone (undefined: cannot tell). */
export async function accountGone(
  config: Config,
  domain: string,
  account: TempAccount,
): Promise<boolean | undefined> {
  if (account.how === "insecure") return undefined;
  if (config.storage.driver === "memory") return undefined;
  return await withStores(config, async (stores) => {
    const exists = await stores.auth.userExists(domain, account.user);
    if (exists && account.how === "storage") {
      // The in-band removal failed: clean up the way the account came.
      const { removeAccountData } = await import("../../core/accounts.ts");
      await removeAccountData(stores, domain, account.user);
    }
    return !exists;
  });
}

async function withStores<T>(
  config: Config,
  fn: (stores: import("../../core/accounts.ts").AccountStores) => Promise<T>,
): Promise<T> {
  const { openStores } = await import("../stores.ts");
  const stores = openStores(config);
  try {
    return await fn(stores);
  } finally {
    await stores.close();
  }
}
