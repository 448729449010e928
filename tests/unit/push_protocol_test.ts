/** XEP-0357 enable parsing and the notification's shape. */
import assert from "node:assert/strict";
import { MAX_NODE_LENGTH, notification, parseEnable } from "../../src/modules/push/protocol.ts";
import { parseElement } from "../../src/util/xml_fragment.ts";
import { StanzaError } from "../../src/core/errors.ts";
import { parseForm } from "../../src/util/dataforms.ts";

const enable = (attrs: string, form = "") =>
  parseEnable(parseElement(`<enable xmlns='urn:xmpp:push:0' ${attrs}>${form}</enable>`)!);
const OPTIONS = "http://jabber.org/protocol/pubsub#publish-options";

Deno.test("push: enable keeps publish-options but our include-body field", () => {
  const reg = enable(
    "jid='Push.Example' node='n'",
    `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>${OPTIONS}</value></field>` +
      `<field var='secret'><value>s</value></field>` +
      `<field var='parley#include-body'><value>1</value></field></x>`,
  );
  assert.deepEqual(reg, {
    jid: "push.example",
    node: "n",
    options: [["secret", ["s"]]],
    body: true,
  });
  assert.equal(enable("jid='p' node='n'").body, false);
  assert.throws(() => enable("node='n'"), StanzaError);
  assert.throws(() => enable("jid='p'"), StanzaError);
  const longest = "n".repeat(MAX_NODE_LENGTH);
  assert.equal(enable(`jid='p' node='${longest}'`).node, longest);
  assert.throws(() => enable(`jid='p' node='${longest}n'`), /node is too long/);
  assert.throws(
    () => enable("jid='p' node='n'", `<x xmlns='jabber:x:data' type='form'/>`),
    StanzaError,
  );
});

Deno.test("push: the notification carries the summary and the publish-options", () => {
  const iq = notification("a@x", "id1", {
    jid: "p",
    node: "n",
    options: [["secret", ["s"]]],
    body: false,
  }, {
    count: 2,
    sender: "b@x/r",
    body: undefined,
  });
  assert.equal(iq.attrs.type, "set");
  assert.equal(iq.attrs.from, "a@x");
  const pubsub = iq.getChild("pubsub", "http://jabber.org/protocol/pubsub")!;
  const publish = pubsub.getChild("publish")!;
  assert.equal(publish.attrs.node, "n");
  const summary = parseForm(
    publish.getChild("item")!.getChild("notification", "urn:xmpp:push:0")!,
  )!;
  assert.deepEqual(summary.get("FORM_TYPE"), ["urn:xmpp:push:summary"]);
  assert.deepEqual(summary.get("message-count"), ["2"]);
  assert.equal(summary.has("last-message-body"), false);
  const options = parseForm(pubsub.getChild("publish-options")!)!;
  assert.deepEqual(options.get("FORM_TYPE"), [OPTIONS]);
  assert.deepEqual(options.get("secret"), ["s"]);
});
