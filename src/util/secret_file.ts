/**
 * A per-server secret kept in a file (the status page's cookie key, the
 * upload slot key, the FAST token key): read, or on first use made from
 * random bytes and written with mode 0600.
 *
 * Several starters may race to create it: the hosts of one server start
 * their modules together, and the CLI may run beside the server. The new
 * secret is written whole to a temporary file and then linked into place,
 * which fails when the file exists: exactly one secret wins, and nobody
 * can read a half-written one. The losers read the winner's.
 */
import { dirname } from "node:path";

/** How a secret is kept in its file. */
export interface SecretFormat {
  encode(secret: Uint8Array): Uint8Array;
  /** The secret in a file's content; throws (naming `path`) when it is not one. */
  decode(content: Uint8Array, path: string): Uint8Array;
}

/** The bytes as they are, at least `minBytes` of them. */
export function rawSecret(minBytes: number): SecretFormat {
  return {
    encode: (secret) => secret,
    decode: (content, path) => {
      if (content.length < minBytes) {
        throw new Error(
          `${path} is too short for a secret (${content.length} of ${minBytes} bytes)`,
        );
      }
      return content;
    },
  };
}

export async function loadSecretFile(
  path: string,
  bytes: number,
  format: SecretFormat = rawSecret(bytes),
): Promise<Uint8Array> {
  const read = async () => format.decode(await Deno.readFile(path), path);
  try {
    return await read();
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  const secret = crypto.getRandomValues(new Uint8Array(bytes));
  const tmp = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeFile(tmp, format.encode(secret), { mode: 0o600, createNew: true });
  try {
    await Deno.link(tmp, path);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return await read();
    // A file system without hard links (some network and container
    // volumes): rename, which replaces; whoever renames last wins, and
    // everyone reads the winner's.
    await Deno.rename(tmp, path);
    return await read();
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return secret;
}
