/**
 * XEP-0334 storage hints, read the same way by everything that keeps
 * messages (the user archive, the room archive): `no-store` and
 * `no-permanent-store` keep a message out whatever it carries, `store`
 * keeps it even without content of its own.
 */
import type { Element } from "../xml/element.ts";
import { NS_HINTS } from "../xml/namespaces.ts";
export { NS_HINTS };

/** "refuse", "store", or undefined when the message carries no storage hint. */
export function storageHint(message: Element): "refuse" | "store" | undefined {
  let hint: "store" | undefined;
  for (const c of message.children) {
    if (typeof c === "string" || c.attrs.xmlns !== NS_HINTS) continue;
    if (c.name === "no-store" || c.name === "no-permanent-store") return "refuse";
    if (c.name === "store") hint = "store";
  }
  return hint;
}

/**
 * Whether to keep a message: its hint decides, else whether any child
 * element is content by the keeper's own rule.
 */
export function worthKeeping(message: Element, isContent: (child: Element) => boolean): boolean {
  const hint = storageHint(message);
  if (hint !== undefined) return hint === "store";
  for (const c of message.children) if (typeof c !== "string" && isContent(c)) return true;
  return false;
}
