/**
 * Slot signatures: an upload's PUT URL carries an HMAC-SHA256 over what
 * the slot allows (its path, size, content type and expiry), keyed by a
 * per-server secret kept in `<dataDir>/uploads/secret`, so the HTTP side
 * needs no state to tell a slot we granted from a forged one, and the
 * secret survives restarts (slots granted before one still work).
 */
import { join } from "node:path";
import { loadSecretFile } from "../../util/secret_file.ts";

const SECRET_BYTES = 32;

/** Everything a slot allows; the signature covers all of it. */
export interface SlotClaims {
  /** `<upload domain>/<id>/<filename>`, decoded. */
  path: string;
  size: number;
  contentType: string;
  /** Unix seconds after which the PUT URL is refused. */
  expires: number;
}

export class SlotSigner {
  private constructor(readonly key: CryptoKey) {}

  /** The signer with the secret in `dir` (created, mode 0600, on first use). */
  static async open(dir: string): Promise<SlotSigner> {
    const secret = await loadSecretFile(join(dir, "secret"), SECRET_BYTES);
    const key = await crypto.subtle.importKey(
      "raw",
      secret as Uint8Array<ArrayBuffer>,
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    return new SlotSigner(key);
  }

  async sign(claims: SlotClaims): Promise<string> {
    const mac = await crypto.subtle.sign("HMAC", this.key, encode(claims));
    return toHex(new Uint8Array(mac));
  }

  /** Whether `signature` (hex) is ours for `claims`; compared in constant time by WebCrypto. */
  async verify(claims: SlotClaims, signature: string): Promise<boolean> {
    const mac = fromHex(signature);
    if (!mac || mac.byteLength !== 32) return false;
    return await crypto.subtle.verify("HMAC", this.key, mac, encode(claims));
  }
}

/** One line per claim: no claim can run into the next (none holds a newline). */
function encode(c: SlotClaims): Uint8Array<ArrayBuffer> {
  const text = [c.path, c.size, c.contentType, c.expires].join("\n");
  return new TextEncoder().encode(text) as Uint8Array<ArrayBuffer>;
}

function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^(?:[0-9a-f]{2})+$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
