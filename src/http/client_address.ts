/**
 * Who sent an HTTP request: the TCP peer, unless that peer is a reverse
 * proxy the config trusts, in which case its X-Forwarded-For and
 * X-Forwarded-Proto are believed. Anyone can write those headers, so from
 * an untrusted peer they are ignored, and from a trusted one only the
 * part its trusted proxies appended is believed: the chain is read from
 * the right (nearest hop) and the first address not itself a trusted
 * proxy is the client.
 */
import { isIP } from "node:net";
import { normalizeAddress } from "../net/connection.ts";

/** One `http.trustedProxies` entry: an address, or a CIDR range. */
interface Range {
  bytes: Uint8Array;
  prefix: number;
}

/** Longest X-Forwarded-For chain read; a longer one is cut (keeps the work bounded). */
const MAX_HOPS = 32;

export class TrustedProxies {
  readonly #ranges: Range[];

  constructor(entries: readonly string[]) {
    this.#ranges = entries.map((entry) => {
      const range = parseRange(entry);
      if (!range) throw new Error(`not an IP address or CIDR range: "${entry}"`);
      return range;
    });
  }

  has(address: string): boolean {
    if (this.#ranges.length === 0) return false;
    const bytes = addressBytes(normalizeAddress(address));
    return !!bytes && this.#ranges.some((r) => inRange(bytes, r));
  }
}

/**
 * The ranges of a list the config may replace (a reload): parsed again
 * only when the list itself is a new one, so every request reads the
 * current list at the cost of one comparison.
 */
export function liveTrustedProxies(read: () => readonly string[]): () => TrustedProxies {
  let entries = read();
  let ranges = new TrustedProxies(entries);
  return () => {
    const now = read();
    if (now !== entries) {
      ranges = new TrustedProxies(now);
      entries = now;
    }
    return ranges;
  };
}

/** Why a `trustedProxies` entry is unusable, for config checks; undefined when it is fine. */
export function rangeProblem(entry: string): string | undefined {
  return parseRange(entry)
    ? undefined
    : 'not an IP address or CIDR range ("10.0.0.1", "10.0.0.0/8")';
}

export interface ClientOrigin {
  /** The client's address (IPv4-mapped IPv6 written as IPv4). */
  address: string;
  /** Whether the client reached us (or the trusted proxy) over TLS. */
  secure: boolean;
}

export function clientOrigin(
  peer: string,
  secureSocket: boolean,
  headers: Headers,
  trusted: TrustedProxies,
): ClientOrigin {
  const socketAddress = normalizeAddress(peer);
  if (!trusted.has(socketAddress)) return { address: socketAddress, secure: secureSocket };
  let address = socketAddress;
  const forwarded = headers.get("x-forwarded-for");
  if (forwarded) {
    const hops = forwarded.split(",").slice(-MAX_HOPS).map((h) => stripPort(h.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      // A malformed hop ends what can be believed: the last good one is the client.
      if (!isIP(hops[i])) break;
      address = normalizeAddress(hops[i]);
      if (!trusted.has(address)) break;
    }
  }
  // The proto the nearest proxy saw: the last value, as for the addresses.
  const proto = headers.get("x-forwarded-proto")?.split(",").pop()?.trim().toLowerCase();
  return { address, secure: proto === "https" ? true : proto === "http" ? false : secureSocket };
}

/** A loopback address: the peer (or interface) never leaves the machine. */
export function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.") || address.startsWith("::ffff:127.");
}

/** "[::1]:443" → "::1", "1.2.3.4:80" → "1.2.3.4"; anything else unchanged. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return bracketed[1];
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(hop);
  return v4 ? v4[1] : hop;
}

function parseRange(entry: string): Range | undefined {
  const [addr, bits, extra] = entry.trim().split("/");
  if (extra !== undefined) return undefined;
  const bytes = addressBytes(normalizeAddress(addr));
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  if (bits === undefined) return { bytes, prefix: max };
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return undefined;
  return { bytes, prefix: Number(bits) };
}

function inRange(bytes: Uint8Array, range: Range): boolean {
  if (bytes.length !== range.bytes.length) return false;
  let bits = range.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (range.bytes[i] & mask)) return false;
  }
  return true;
}

/** 4 or 16 bytes, or undefined for anything that is not a literal address. */
function addressBytes(address: string): Uint8Array | undefined {
  const family = isIP(address);
  if (family === 4) return new Uint8Array(address.split(".").map(Number));
  if (family !== 6) return undefined;
  let text = address.split("%")[0];
  // An embedded IPv4 tail ("::ffff:1.2.3.4" that normalizeAddress kept, "64:ff9b::1.2.3.4").
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split(".").map(Number);
    text = text.slice(0, -v4[1].length) +
      `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined
    ? left
    : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[i * 2] = n >> 8;
    bytes[i * 2 + 1] = n & 0xff;
  });
  return bytes;
}
