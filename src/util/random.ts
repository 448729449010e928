/** Short random identifiers (stream ids, generated resources). */
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** 16 url-safe characters: 96 bits from the CSPRNG. */
export function randomId(length = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let s = "";
  for (let i = 0; i < length; i++) s += ALPHABET[bytes[i] & 63];
  return s;
}
