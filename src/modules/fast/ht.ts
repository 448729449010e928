/**
 * The HT-* SASL mechanisms (draft-schmaus-kitten-sasl-ht) with SHA-256,
 * as FAST (XEP-0484) uses them: one message, `authcid NUL
 * HMAC(token, "Initiator" || cb-data)`, answered (in SASL2's
 * additional-data) with `HMAC(token, "Responder" || cb-data)`. ENDP binds
 * to `tls-server-end-point` (RFC 5929), NONE to nothing.
 */
import { createHmac } from "node:crypto";
import type { SaslExchange, SaslStep } from "../../auth/types.ts";
import { constantTimeEqual, saslPrep } from "../../auth/scram.ts";
import { prepareUsername } from "../../auth/username.ts";
import type { FastTokens } from "./tokens.ts";

export const HT_NONE = "HT-SHA-256-NONE";
export const HT_ENDP = "HT-SHA-256-ENDP";

const strictDecoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

function mac(token: Uint8Array, label: string, cbData: Uint8Array): Uint8Array {
  return new Uint8Array(
    createHmac("sha256", token).update(encoder.encode(label)).update(cbData).digest(),
  );
}

export class HtExchange implements SaslExchange {
  #done = false;

  constructor(
    readonly tokens: FastTokens,
    /** Undefined: the client sent no user agent id, so no token can be its. */
    readonly userAgentId: string | undefined,
    readonly cbData: Uint8Array,
    /** The mechanism name: a token works only with the one it was issued for. */
    readonly mechanism?: string,
  ) {}

  async step(data: Uint8Array | null): Promise<SaslStep> {
    if (this.#done) return { kind: "failure", condition: "malformed-request" };
    this.#done = true;
    if (data === null) {
      return { kind: "failure", condition: "malformed-request", text: "initial response required" };
    }
    const nul = data.indexOf(0);
    if (nul <= 0) {
      return { kind: "failure", condition: "malformed-request", text: "expected authcid NUL HMAC" };
    }
    let authcid: string | undefined;
    try {
      authcid = saslPrep(strictDecoder.decode(data.subarray(0, nul)));
    } catch {
      authcid = undefined;
    }
    const username = authcid ? prepareUsername(authcid) : undefined;
    if (username === undefined) return { kind: "failure", condition: "not-authorized" };
    const proof = data.subarray(nul + 1);
    if (this.userAgentId === undefined) {
      return {
        kind: "failure",
        condition: "not-authorized",
        text: "FAST needs a user agent id",
        username,
      };
    }
    let match;
    try {
      match = await this.tokens.use(
        username,
        this.userAgentId,
        (token) => Promise.resolve(constantTimeEqual(mac(token, "Initiator", this.cbData), proof)),
        this.mechanism,
      );
    } catch {
      return { kind: "failure", condition: "temporary-auth-failure", username };
    }
    if (!match) return { kind: "failure", condition: "not-authorized", username };
    return { kind: "success", username, data: mac(match.token, "Responder", this.cbData) };
  }
}
