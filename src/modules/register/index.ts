/**
 * In-band registration (XEP-0077). New accounts only when
 * `registration.enabled`, throttled per client IP; password change and
 * account removal for authenticated users always.
 */
import { el } from "../../xml/element.ts";
import type { ParleyModule } from "../../core/module_api.ts";
import { NS_REGISTER, NS_REGISTER_FEATURE } from "./fields.ts";
import { setupNewAccounts } from "./new_account.ts";
import { setupOwnAccount } from "./own_account.ts";

export const registerModule: ParleyModule = {
  name: "register",
  setup(api) {
    api.addFeature(NS_REGISTER);
    // Asked per stream, not at load: a reload may open or close registration.
    // The c2s handler lists features only once TLS is up when TLS is required.
    api.addStreamFeature((session) =>
      session.type === "c2s_unauthed" && api.config.registration.enabled
        ? el("register", { xmlns: NS_REGISTER_FEATURE })
        : undefined
    );
    setupNewAccounts(api);
    setupOwnAccount(api);
  },
};
