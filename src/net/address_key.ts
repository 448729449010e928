/**
 * The unit one client controls: an IPv4 address, or the /64 an IPv6
 * address belongs to (a single subscriber is usually handed a whole /64
 * and can pick any address in it, so per-address counting would never
 * trigger). Anything unexpected is used as it is.
 */
export function addressKey(ip: string): string {
  if (!ip.includes(":")) return ip;
  const address = ip.split("%")[0].toLowerCase();
  const halves = address.split("::");
  if (halves.length > 2) return address;
  const groups = (s: string) => (s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  // An embedded dotted IPv4 address (::ffff:1.2.3.4) fills two groups.
  const width = (g: string[]) => g.reduce((n, x) => n + (x.includes(".") ? 2 : 1), 0);
  const zeros = Array(Math.max(0, 8 - width(head) - width(tail))).fill("0");
  const prefix = [...head, ...zeros, ...tail].slice(0, 4);
  if (prefix.length < 4 || !prefix.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return address;
  return prefix.map((g) => Number.parseInt(g, 16).toString(16)).join(":") + "::/64";
}
