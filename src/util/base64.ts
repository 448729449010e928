/**
 * Base64 as XMPP uses it (RFC 6120 §6.4.2 for SASL, XEP-0178/0220 for
 * s2s): no whitespace, no sloppy padding. One implementation for every
 * stream and for the SCRAM credentials.
 */

/** Bytes, or undefined when `text` is not strict base64. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/** Strict base64 of UTF-8 text; undefined when malformed or not UTF-8. */
export function decodeBase64Text(text: string): string | undefined {
  const bytes = decodeBase64(text);
  if (bytes === undefined) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function encodeBase64Text(text: string): string {
  return encodeBase64(new TextEncoder().encode(text));
}
