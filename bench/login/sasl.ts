/**
 * Client halves of the SASL mechanisms the login benchmark uses: SCRAM
 * (RFC 5802, no channel binding) and HT-SHA-256-NONE (the hashed-token
 * mechanism FAST, XEP-0484, uses). Byte strings in and out; the SASL1 and
 * SASL2 wrappers live in login.ts.
 *
 * SCRAM keys are cached per (hash, password, salt, iterations), as real
 * clients do: the generator must not spend a PBKDF2 per login when the
 * server hands out the same salt each time (a server that salts afresh per
 * login, as Prosody's internal_plain does, costs the generator a PBKDF2).
 */
const enc = new TextEncoder();
const dec = new TextDecoder();

export function b64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function unb64(s: string): Uint8Array {
  return Uint8Array.from(atob(s.trim()), (c) => c.charCodeAt(0));
}

async function hmac(key: Uint8Array, msg: Uint8Array, hash: string): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, msg as BufferSource));
}

interface ScramKeys {
  clientKey: Uint8Array;
  storedKey: Uint8Array;
  serverKey: Uint8Array;
}

const MAX_CACHED = 100_000;
const keyCache = new Map<string, ScramKeys>();

async function scramKeys(hash: string, password: string, salt: string, iterations: number) {
  const id = `${hash}|${password}|${salt}|${iterations}`;
  const hit = keyCache.get(id);
  if (hit) return hit;
  const base = await crypto.subtle.importKey("raw", enc.encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const salted = new Uint8Array(
    await crypto.subtle.deriveBits(
      { name: "PBKDF2", salt: unb64(salt) as BufferSource, iterations, hash },
      base,
      hash === "SHA-1" ? 160 : 256,
    ),
  );
  const clientKey = await hmac(salted, enc.encode("Client Key"), hash);
  const keys = {
    clientKey,
    storedKey: new Uint8Array(await crypto.subtle.digest(hash, clientKey as BufferSource)),
    serverKey: await hmac(salted, enc.encode("Server Key"), hash),
  };
  if (keyCache.size >= MAX_CACHED) keyCache.clear();
  keyCache.set(id, keys);
  return keys;
}

/** One SCRAM exchange: `first` is the client-first message; `final` answers the server-first. */
export function scram(
  mechanism: string,
  user: string,
  password: string,
  nonce = crypto.randomUUID().replaceAll("-", ""),
) {
  const hash = mechanism.startsWith("SCRAM-SHA-256") ? "SHA-256" : "SHA-1";
  const bare = `n=${user},r=${nonce}`;
  const gs2 = "n,,";
  let expected = "";
  return {
    first: enc.encode(gs2 + bare),
    async final(serverFirstBytes: Uint8Array): Promise<Uint8Array> {
      const serverFirst = dec.decode(serverFirstBytes);
      const f = Object.fromEntries(serverFirst.split(",").map((p) => [p[0], p.slice(2)]));
      if (!f.r?.startsWith(nonce)) throw new Error(`SCRAM: bad server nonce in ${serverFirst}`);
      const keys = await scramKeys(hash, password, f.s, Number(f.i));
      const withoutProof = `c=${btoa(gs2)},r=${f.r}`;
      const authMessage = enc.encode(`${bare},${serverFirst},${withoutProof}`);
      const sig = await hmac(keys.storedKey, authMessage, hash);
      const proof = keys.clientKey.map((b, i) => b ^ sig[i]);
      expected = `v=${b64(await hmac(keys.serverKey, authMessage, hash))}`;
      return enc.encode(`${withoutProof},p=${b64(proof)}`);
    },
    /** The server-final message (additional data) proves the server knows the key. */
    verify(serverFinal: Uint8Array): boolean {
      return expected !== "" && dec.decode(serverFinal) === expected;
    },
  };
}

/** HT-SHA-256-NONE initial response: authcid NUL HMAC(token, "Initiator"). */
export async function htInitial(user: string, token: string): Promise<Uint8Array> {
  const mac = await hmac(enc.encode(token), enc.encode("Initiator"), "SHA-256");
  const u = enc.encode(user);
  const out = new Uint8Array(u.length + 1 + mac.length);
  out.set(u);
  out.set(mac, u.length + 1);
  return out;
}

/** The server's HT proof in the success's additional data: HMAC(token, "Responder"). */
export async function htVerify(token: string, additional: Uint8Array): Promise<boolean> {
  const mac = await hmac(enc.encode(token), enc.encode("Responder"), "SHA-256");
  return mac.length === additional.length && mac.every((b, i) => b === additional[i]);
}
