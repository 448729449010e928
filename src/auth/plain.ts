/**
 * SASL PLAIN (RFC 4616): one message, authzid NUL authcid NUL passwd.
 * Offered only over TLS (see mechanisms.ts), since the password travels
 * as is.
 */
import { saslPrep } from "./scram.ts";
import type { SaslContext, SaslExchange, SaslStep } from "./types.ts";
import { isOwnAuthzid, prepareUsername } from "./username.ts";

const strictDecoder = new TextDecoder("utf-8", { fatal: true });

export class PlainExchange implements SaslExchange {
  #state: "start" | "await-response" | "done" = "start";

  constructor(private readonly ctx: SaslContext) {}

  async step(data: Uint8Array | null): Promise<SaslStep> {
    const state = this.#state;
    this.#state = "done";
    if (state === "start" && data === null) {
      // No initial response: RFC 6120 §6.4.2 asks for an empty challenge.
      this.#state = "await-response";
      return { kind: "challenge", data: new Uint8Array() };
    }
    if (state === "done") return fail("malformed-request", "exchange already finished");
    if (data === null) return fail("malformed-request", "missing response");
    return await this.#verify(data);
  }

  async #verify(data: Uint8Array): Promise<SaslStep> {
    let text: string;
    try {
      text = strictDecoder.decode(data);
    } catch {
      return fail("malformed-request", "not UTF-8");
    }
    const parts = text.split("\0");
    if (parts.length !== 3) {
      return fail("malformed-request", "expected authzid NUL authcid NUL passwd");
    }
    const [authzid, rawAuthcid, rawPassword] = parts;
    // RFC 4616 §2: authcid is 1*SAFE; a login without a name is a broken client.
    if (rawAuthcid === "") return fail("malformed-request", "empty authentication identity");
    const authcid = saslPrep(rawAuthcid);
    if (!authcid) return fail("malformed-request", "bad authentication identity");
    const username = prepareUsername(authcid);
    // An empty or unpreparable password cannot match anything stored: answer
    // as for a wrong one, so the reply says nothing about the account.
    const password = saslPrep(rawPassword);
    if (username === undefined || !password) return fail("not-authorized", undefined, username);

    let ok: boolean;
    try {
      ok = await this.ctx.provider.testPassword(this.ctx.host, username, password);
    } catch {
      return fail("temporary-auth-failure", undefined, username);
    }
    if (!ok) return fail("not-authorized", undefined, username);
    // Authorization is judged only after authentication, so a bad authzid
    // reveals nothing to someone without the password.
    if (!isOwnAuthzid(authzid, username, this.ctx.host)) {
      return fail("invalid-authzid", undefined, username);
    }
    return { kind: "success", username, ...(authzid !== "" ? { authzid } : {}) };
  }
}

function fail(
  condition: "malformed-request" | "not-authorized" | "invalid-authzid" | "temporary-auth-failure",
  text?: string,
  username?: string,
): SaslStep {
  return { kind: "failure", condition, text, username };
}
