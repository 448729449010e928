/**
 * The minimal DER reader behind XmppAddr / SRV-ID matching
 * (src/tls/xmpp_identity.ts), on hand-made bytes: data that is cut off or
 * ends mid-value is malformed and identifies nothing.
 */
import assert from "node:assert/strict";
import { decodeOid, otherNames, readAll } from "../../src/tls/xmpp_identity.ts";

/** id-on-xmppAddr, 1.3.6.1.5.5.7.8.5, as an OID body. */
const XMPP_ADDR = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x05];

/** A DER TLV with a short-form length (all we need here). */
const tlv = (tag: number, body: number[]) => [tag, body.length, ...body];
const ascii = (s: string) => [...new TextEncoder().encode(s)];

/** GeneralNames holding one otherName per OID body, each an XmppAddr value `text`. */
function generalNames(entries: { oid: number[]; text: string }[]): Uint8Array {
  const names = entries.flatMap(({ oid, text }) =>
    tlv(0xa0, [...tlv(0x06, oid), ...tlv(0xa0, tlv(0x0c, ascii(text)))])
  );
  return new Uint8Array(tlv(0x30, names));
}

Deno.test("DER: a long-form length cut off by the end of the data is malformed", () => {
  // OCTET STRING, length in 2 bytes, only one of them present.
  assert.throws(() => readAll(new Uint8Array([0x04, 0x82, 0x01])), /truncated/);
  assert.throws(() => readAll(new Uint8Array([0x04, 0x81])), /truncated/);
  // Whole, it reads.
  assert.deepEqual(readAll(new Uint8Array([0x04, 0x81, 0x01, 0x7f])).map((t) => [...t.body]), [
    [0x7f],
  ]);
});

Deno.test("DER: an OID ending mid-arc is malformed, not the OID before it", () => {
  assert.equal(decodeOid(new Uint8Array(XMPP_ADDR)), "1.3.6.1.5.5.7.8.5");
  assert.equal(decodeOid(new Uint8Array([...XMPP_ADDR, 0x80])), undefined);
  assert.equal(decodeOid(new Uint8Array([])), undefined);
  // A multi-byte arc that is complete reads (1.2.840).
  assert.equal(decodeOid(new Uint8Array([0x2a, 0x86, 0x48])), "1.2.840");
});

Deno.test("DER: a malformed otherName entry is ignored, the others still count", () => {
  const san = generalNames([
    { oid: [...XMPP_ADDR, 0x80], text: "evil.test" },
    { oid: XMPP_ADDR, text: "good.test" },
  ]);
  assert.deepEqual(otherNames(san).map((o) => [o.typeId, o.text]), [
    ["1.3.6.1.5.5.7.8.5", "good.test"],
  ]);
  // An XmppAddr value whose length is cut off inside its entry: no empty identifier.
  const cut = new Uint8Array(
    tlv(0x30, tlv(0xa0, [...tlv(0x06, XMPP_ADDR), ...tlv(0xa0, [0x0c, 0x82, 0x01])])),
  );
  assert.deepEqual(otherNames(cut), []);
});
