import assert from "node:assert/strict";
import {
  applyConfigForm,
  configForm,
  roomFeatures,
} from "../../src/modules/muc/room_config_form.ts";
import { defaultRoomConfig } from "../../src/modules/muc/types.ts";
import { parseForm } from "../../src/util/dataforms.ts";
import { StanzaError } from "../../src/core/errors.ts";

const F = "muc#roomconfig_";
const values = (o: Record<string, string>) =>
  new Map(Object.entries(o).map(([k, v]) => [F + k, [v]]));

Deno.test("muc config form: round trip of the defaults", () => {
  const config = defaultRoomConfig(100, 20);
  const parsed = parseForm(configForm(config, 100, 50))!;
  assert.deepEqual(applyConfigForm(config, parsed, 100, 50), config);
});

Deno.test("muc config form: fields apply, caps hold, missing fields keep", () => {
  const config = defaultRoomConfig(100, 20);
  const next = applyConfigForm(
    config,
    values({
      roomname: "Tea",
      persistentroom: "true",
      maxusers: "5000",
      historylength: "900",
      whois: "anyone",
    }),
    100,
    50,
  );
  assert.equal(next.name, "Tea");
  assert.equal(next.persistent, true);
  assert.equal(next.maxUsers, 100);
  assert.equal(next.historyLength, 50);
  assert.equal(next.whois, "anyone");
  assert.equal(next.moderated, false);
  assert.ok(roomFeatures(next).includes("muc_persistent"));
  assert.ok(roomFeatures(next).includes("muc_nonanonymous"));
});

Deno.test("muc config form: bad values are not-acceptable", () => {
  const config = defaultRoomConfig(100, 20);
  const bads: Record<string, string>[] = [
    { whois: "everyone" },
    { maxusers: "-1" },
    { passwordprotectedroom: "1" },
    { allowpm: "all" },
  ];
  for (const bad of bads) {
    assert.throws(
      () => applyConfigForm(config, values(bad), 100, 50),
      (e: unknown) => e instanceof StanzaError && e.condition === "not-acceptable",
    );
  }
  const secret = applyConfigForm(
    config,
    values({ passwordprotectedroom: "1", roomsecret: "x" }),
    100,
    50,
  );
  assert.equal(secret.password, "x");
  assert.ok(roomFeatures(secret).includes("muc_passwordprotected"));
});
