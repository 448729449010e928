/**
 * Entity Time (XEP-0202) of the server. The offset is always +00:00: the
 * server's local zone tells a client nothing useful and says where the
 * machine is.
 */
import { el } from "../xml/element.ts";
import type { ParleyModule } from "../core/module_api.ts";

export const NS_TIME = "urn:xmpp:time";

/** XEP-0082 DateTime in UTC, whole seconds (XEP-0202 examples use no fraction). */
function utcNow(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

export const timeModule: ParleyModule = {
  name: "time",
  setup(api) {
    api.addFeature(NS_TIME);
    api.handleIq(
      { type: "get", xmlns: NS_TIME, name: "time" },
      () => el("time", { xmlns: NS_TIME }, el("tzo", {}, "+00:00"), el("utc", {}, utcNow())),
    );
  },
};
