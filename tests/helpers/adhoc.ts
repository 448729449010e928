/** Ad-hoc commands (XEP-0050) from a test client to the host. */
import type { Element } from "../../src/xml/element.ts";
import type { TestClient } from "./client.ts";

export const NS_COMMANDS = "http://jabber.org/protocol/commands";

let counter = 0;

/** Send a `<command/>` with `attrs` (node, action, sessionid…) to the host and wait for the reply. */
export async function command(
  c: TestClient,
  attrs: Record<string, string>,
  inner = "",
): Promise<Element> {
  const id = "c" + ++counter;
  const a = Object.entries(attrs).map(([k, v]) => ` ${k}='${v}'`).join("");
  c.send(
    `<iq type='set' to='${c.domain}' id='${id}'><command xmlns='${NS_COMMANDS}'${a}>` +
      `${inner}</command></iq>`,
  );
  return await c.stanza((e) => e.name === "iq" && e.attrs.id === id);
}
