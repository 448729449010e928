import assert from "node:assert/strict";
import {
  form,
  formBoolean,
  formType,
  formValue,
  NS_DATA,
  parseForm,
} from "../../src/util/dataforms.ts";
import { el } from "../../src/xml/element.ts";
import { XmlFrameParser } from "../../src/xml/parser.ts";

Deno.test("dataforms: form() writes FORM_TYPE first, then fields with values and options", () => {
  const x = form("form", [
    { var: "accountjid", type: "jid-single", label: "JID", required: true },
    { var: "mode", type: "list-single", options: [{ label: "A", value: "a" }], values: ["a"] },
  ], { title: "T", instructions: "I", formType: "urn:example" });
  assert.equal(
    x.toString(),
    `<x xmlns='${NS_DATA}' type='form'><title>T</title><instructions>I</instructions>` +
      `<field var='FORM_TYPE' type='hidden'><value>urn:example</value></field>` +
      `<field var='accountjid' type='jid-single' label='JID'><required/></field>` +
      `<field var='mode' type='list-single'><value>a</value>` +
      `<option label='A'><value>a</value></option></field></x>`,
  );
});

Deno.test("dataforms: parseForm reads every field's values, from the x or its parent", () => {
  const x = form("submit", [
    { var: "announcement", values: ["line 1", "line 2"] },
    { var: "flag", values: ["1"] },
    { type: "fixed", values: ["ignored: no var"] },
  ], { formType: "urn:example" });
  const wrapped = el("command", { xmlns: "http://jabber.org/protocol/commands" }, x);
  for (const source of [x, wrapped]) {
    const values = parseForm(source)!;
    assert.deepEqual(values.get("announcement"), ["line 1", "line 2"]);
    assert.equal(formValue(values, "FORM_TYPE"), "urn:example");
    assert.equal(formBoolean(values, "flag"), true);
    assert.equal(values.size, 3);
  }
  assert.equal(formType(wrapped), "submit");
  assert.equal(parseForm(el("command")), undefined);
});

Deno.test("dataforms: a parsed client form round-trips", () => {
  let parsed: ReturnType<typeof parseForm>;
  const p = new XmlFrameParser((f) => {
    if (f.kind === "stanza") parsed = parseForm(f.element);
  }, { maxStanzaSize: 10000 });
  p.write(
    `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>` +
      `<iq><x xmlns='jabber:x:data' type='submit'><field var='password'><value>a&amp;b</value>` +
      `</field><field var='empty'/></x></iq>`,
  );
  assert.deepEqual(parsed!.get("password"), ["a&b"]);
  assert.deepEqual(parsed!.get("empty"), []);
});
