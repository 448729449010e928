/**
 * Finding things in a Prosody data directory (internal storage):
 * `DIR/<host>/<store>/<user>.dat` for key-value stores and `.list` for
 * list and archive stores, every path part encoded by Prosody's
 * datamanager (each byte that is not a letter or digit as `%xx`).
 */
import { join } from "node:path";
import {
  LuaSyntaxError,
  type LuaValue,
  parseLuaItems,
  parseLuaReturn,
  utf8Text,
} from "./import_prosody_lua.ts";

/** The largest file read (a roster of thousands of contacts stays far below). */
const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** A Prosody path part back to text; undefined when it is not validly encoded UTF-8. */
export function decodeProsodyName(encoded: string): string | undefined {
  if (/%(?![0-9a-fA-F]{2})/.test(encoded)) return undefined;
  const binary = encoded.replace(
    /%([0-9a-fA-F]{2})/g,
    (_, h) => String.fromCharCode(parseInt(h, 16)),
  );
  return utf8Text(binary);
}

export interface ProsodyFile {
  /** Decoded user name ("" would be host-wide data). */
  user: string;
  path: string;
  kind: "dat" | "list";
}

export interface ProsodyHost {
  /** Decoded host name. */
  host: string;
  path: string;
  /** Decoded store name → its files. */
  stores: Map<string, ProsodyFile[]>;
  /** Names that could not be decoded: reported as skipped. */
  undecodable: string[];
}

async function entries(dir: string): Promise<Deno.DirEntry[]> {
  const out: Deno.DirEntry[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e);
  return out.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** The hosts under `dir` and their stores' files (nothing is parsed yet). */
export async function scanProsodyDir(dir: string): Promise<ProsodyHost[]> {
  const hosts: ProsodyHost[] = [];
  for (const h of await entries(dir)) {
    if (!h.isDirectory) continue;
    const hostPath = join(dir, h.name);
    const host: ProsodyHost = {
      host: decodeProsodyName(h.name) ?? h.name,
      path: hostPath,
      stores: new Map(),
      undecodable: [],
    };
    if (decodeProsodyName(h.name) === undefined) host.undecodable.push(h.name);
    for (const s of await entries(hostPath)) {
      if (!s.isDirectory) continue;
      const store = decodeProsodyName(s.name);
      if (store === undefined) {
        host.undecodable.push(`${h.name}/${s.name}`);
        continue;
      }
      const files: ProsodyFile[] = [];
      for (const f of await entries(join(hostPath, s.name))) {
        const m = /^(.*)\.(dat|list)$/.exec(f.name);
        if (!f.isFile || !m) continue;
        const user = decodeProsodyName(m[1]);
        if (user === undefined) {
          host.undecodable.push(`${h.name}/${s.name}/${f.name}`);
          continue;
        }
        files.push({ user, path: join(hostPath, s.name, f.name), kind: m[2] as "dat" | "list" });
      }
      host.stores.set(store, files);
    }
    hosts.push(host);
  }
  return hosts;
}

export type Parsed =
  | { ok: true; value: LuaValue; items?: undefined }
  | { ok: true; items: LuaValue[]; value?: undefined }
  | { ok: false; error: string };

/** A file's contents, parsed (never evaluated): `.dat` as one value, `.list` as its items. */
export async function readProsodyFile(file: ProsodyFile): Promise<Parsed> {
  try {
    const info = await Deno.stat(file.path);
    if (info.size > MAX_FILE_BYTES) {
      return { ok: false, error: `larger than ${MAX_FILE_BYTES} bytes` };
    }
    const bytes = await Deno.readFile(file.path);
    return file.kind === "dat"
      ? { ok: true, value: parseLuaReturn(bytes) }
      : { ok: true, items: parseLuaItems(bytes) };
  } catch (e) {
    return {
      ok: false,
      error: e instanceof LuaSyntaxError ? `not Prosody data: ${e.message}` : String(e),
    };
  }
}
