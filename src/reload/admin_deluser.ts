/**
 * `deluser` on the admin socket: `parley deluser` while the server runs
 * asks the server to remove the account, as an in-band removal does, so
 * its sessions are closed and what modules cached of it (PEP nodes,
 * archive counts, FAST tokens…) goes with the stored data. Removed from
 * outside, the running server would keep those until it restarts.
 *
 * Request `{"command": "deluser", "jid": "user@domain"}`; result
 * `{"deleted": boolean}` (false: no such account).
 */
import { parseJid } from "../jid.ts";
import { logger } from "../log.ts";
import type { AdminCommand } from "./admin_socket.ts";

const log = logger("server", "admin");

export const DELUSER_COMMAND = "deluser";

export interface DeluserResult {
  deleted: boolean;
}

export function deluserCommand(
  server: { deleteAccount(domain: string, username: string): Promise<boolean> },
): AdminCommand {
  return async (request): Promise<DeluserResult> => {
    const jid = typeof request.jid === "string" ? parseJid(request.jid) : undefined;
    if (!jid || jid.local === undefined || jid.resource !== undefined) {
      throw new Error("deluser needs a bare JID, user@domain");
    }
    const deleted = await server.deleteAccount(jid.domain, jid.local);
    if (deleted) log.info("account {jid} removed through the admin socket", { jid: jid.bare });
    return { deleted };
  };
}
