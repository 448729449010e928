/**
 * HTTP file upload (XEP-0363) on a service host (`upload.<domain>`),
 * module `upload`: users of the parent domain ask for a slot (an iq with
 * `<request filename size content-type/>`) and get a signed, time-limited
 * PUT URL and the GET URL of the same path on the HTTP server
 * (route.ts). Limits and quotas come from `upload.*`; files expire after
 * `upload.expireDays` and go with their owner's account.
 */
import type { ModuleApi, ParleyModule } from "../../core/module_api.ts";
import type { UserDeletedEvent } from "../../core/accounts.ts";
import { NS } from "../../xml/namespaces.ts";
import { el } from "../../xml/element.ts";
import { form } from "../../util/dataforms.ts";
import { SlotSigner } from "./signing.ts";
import { FileStore } from "./store.ts";
import { NS_UPLOAD, slotRequestHandler } from "./slots.ts";
import { uploadHttpHandler } from "./http_handler.ts";
import { HTTP_PORTS, UPLOAD_HTTP } from "./route.ts";
import { removeUserUploads, serviceFilesDir, uploadsRoot } from "./account_files.ts";

const SWEEP_INTERVAL_MS = 3_600_000;
const DAY_MS = 86_400_000;

export const uploadModule: ParleyModule = {
  name: "upload",
  async setup(api) {
    if (api.host.kind !== "service") {
      api.log.error("{domain}: upload serves a service host, not a user host: not loaded", {
        domain: api.domain,
      });
      return;
    }
    const signer = await SlotSigner.open(uploadsRoot(api.config.dataDir));
    const store = await FileStore.open(serviceFilesDir(api.config.dataDir, api.domain));
    const ctx = { api, store, signer, baseUrl: () => baseUrl(api) };

    api.addIdentity({ category: "store", type: "file", name: "HTTP File Upload" });
    api.addFeature(NS_UPLOAD);
    api.handleIq({ type: "get", xmlns: NS_UPLOAD, name: "request" }, slotRequestHandler(ctx));
    api.handleIq({ type: "get", xmlns: NS.discoInfo, name: "query" }, (ev) => {
      if (ev.stanza.firstElement()!.attrs.node !== undefined) return undefined;
      const out = el("query", { xmlns: NS.discoInfo });
      for (const i of api.host.discoIdentities) {
        out.append(el("identity", { category: i.category, type: i.type, name: i.name }));
      }
      const features = new Set([NS.discoInfo, NS.discoItems, ...api.host.discoFeatures]);
      for (const f of [...features].sort()) out.append(el("feature", { var: f }));
      // XEP-0363 §3: the size limit as an XEP-0128 extension.
      out.append(form("result", [
        { var: "max-file-size", values: [String(api.config.upload.maxFileBytes)] },
      ], { formType: NS_UPLOAD }));
      return out;
    });
    api.handleIq(
      { type: "get", xmlns: NS.discoItems, name: "query" },
      () => el("query", { xmlns: NS.discoItems }),
    );
    api.handleIq({ type: "get", xmlns: "urn:xmpp:ping", name: "ping" }, () => api.EMPTY_RESULT);

    api.provide(
      UPLOAD_HTTP,
      uploadHttpHandler({
        domain: api.domain,
        store,
        signer,
        config: () => api.config,
        log: api.log,
        // The event map's `upload-stored`: metrics count files and bytes.
        stored: (meta) => api.emit("upload-stored", { owner: meta.owner, bytes: meta.size }),
      }),
    );

    // A user of the parent domain removed (deleteAccount tells its service
    // hosts too); `parley deluser` does the same offline.
    api.hook<UserDeletedEvent>("user-deleted", async ({ username }) => {
      const removed = await removeUserUploads(store, api.host.parent!, username);
      if (removed > 0) {
        api.log.info("removed {removed} uploads of {username}", { removed, username });
      }
      return false;
    });

    const sweep = async () => {
      const days = api.config.upload.expireDays;
      if (days === 0) return;
      const now = Date.now();
      const removed = await store.expire(now - days * DAY_MS, now);
      if (removed > 0) api.log.info("expired {removed} uploads", { removed });
    };
    // Tests (and an operator's tooling) may run the sweep at once.
    api.hook("upload/expire", async () => {
      await sweep();
      return true;
    });
    api.setInterval(sweep, SWEEP_INTERVAL_MS);
    api.setTimeout(sweep, 0);
  },
};

/** `upload.baseUrl`, else the HTTPS listener (or plain HTTP) at the upload domain. */
function baseUrl(api: ModuleApi): string {
  const configured = api.config.upload.baseUrl;
  if (configured) return configured.replace(/\/+$/, "");
  const bound = api.items<Readonly<Record<string, number>>>(HTTP_PORTS)[0] ?? {};
  const { http, https } = api.config.listeners;
  const [scheme, port, usual] = https.enabled || !http.enabled
    ? ["https", bound.https ?? https.port, 443]
    : ["http", bound.http ?? http.port, 80];
  return `${scheme}://${api.domain}${port === usual ? "" : `:${port}`}/upload`;
}
