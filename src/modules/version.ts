/**
 * Software Version (XEP-0092) of the server. The `os` element is left out
 * on purpose: XEP-0092 makes it optional and warns (Security
 * Considerations) that revealing the operating system helps attackers;
 * name and version are enough for clients and for bug reports.
 */
import { el } from "../xml/element.ts";
import type { ParleyModule } from "../core/module_api.ts";
import { VERSION } from "../version.ts";

export const NS_VERSION = "jabber:iq:version";

export const versionModule: ParleyModule = {
  name: "version",
  setup(api) {
    api.addFeature(NS_VERSION);
    api.handleIq(
      { type: "get", xmlns: NS_VERSION, name: "query" },
      () =>
        el("query", { xmlns: NS_VERSION }, el("name", {}, "Parley"), el("version", {}, VERSION)),
    );
  },
};
