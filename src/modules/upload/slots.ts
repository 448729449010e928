/**
 * Slot requests (XEP-0363 §4–5): who may upload (users of the parent
 * domain), the size and type limits, the daily and service quotas, and
 * the signed PUT URL with its GET URL.
 */
import type { ModuleApi } from "../../core/module_api.ts";
import type { StanzaEvent } from "../../core/router.ts";
import { StanzaError } from "../../core/errors.ts";
import { parseJid } from "../../jid.ts";
import { el, type Element } from "../../xml/element.ts";
import { randomId } from "../../util/random.ts";
import type { FileStore } from "./store.ts";
import type { SlotSigner } from "./signing.ts";
import { NS_UPLOAD } from "../../xml/namespaces.ts";
export { NS_UPLOAD };

/** Unused slots one user may hold at once. */
const MAX_SLOTS_PER_USER = 50;
/** Unused slots of the whole service at once. */
const MAX_SLOTS = 10000;
const MAX_NAME_LENGTH = 200;
/** Characters of a file's id (6 random bits each). */
const ID_LENGTH = 22;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

export interface SlotContext {
  api: ModuleApi;
  store: FileStore;
  signer: SlotSigner;
  /** Where `/upload` is reached, without a trailing slash. */
  baseUrl(): string;
}

export function slotRequestHandler(ctx: SlotContext) {
  const { api, store, signer } = ctx;
  return async (ev: StanzaEvent): Promise<Element> => {
    const limits = api.config.upload;
    const from = parseJid(ev.stanza.attrs.from ?? "");
    if (!from?.local || from.domain !== api.host.parent) {
      throw new StanzaError(
        "auth",
        "forbidden",
        `Only users of ${api.host.parent} may upload here`,
      );
    }
    const request = ev.stanza.firstElement()!;
    const name = sanitizeName(request.attrs.filename ?? "");
    const size = Number(request.attrs.size);
    if (name === undefined || !/^[0-9]{1,16}$/.test(request.attrs.size ?? "")) {
      throw new StanzaError("modify", "bad-request", "A filename and a size in bytes are needed");
    }
    const type = normalizeType(request.attrs["content-type"]);
    if (type === undefined) throw new StanzaError("modify", "bad-request", "Invalid content-type");
    if (size > limits.maxFileBytes) {
      throw new StanzaError(
        "modify",
        "not-acceptable",
        `File too large. The maximum file size is ${limits.maxFileBytes} bytes`,
        undefined,
        el(
          "file-too-large",
          { xmlns: NS_UPLOAD },
          el("max-file-size", {}, String(limits.maxFileBytes)),
        ),
      );
    }
    if (type === "" && limits.allowedTypes.length > 0) {
      throw new StanzaError("modify", "bad-request", "A content-type is needed");
    }
    if (type !== "" && !typeAllowed(type, limits.allowedTypes)) {
      throw new StanzaError("modify", "not-acceptable", `Files of type ${type} are not accepted`);
    }
    const owner = from.bare;
    const now = Date.now();
    // 132 random bits, URL-safe: the file's name on disk and in its URL.
    const id = randomId(ID_LENGTH);
    const expires = Math.floor(now / 1000) + limits.slotSeconds;
    const path = `${api.domain}/${id}/${name}`;
    // Signed before the quota checks: from them to store.reserve there is
    // no await, so requests in flight together (several sessions of one
    // user, or many users) each see the others' reservations and cannot
    // all pass a check that only one of them fits.
    const sig = await signer.sign({ path, size, contentType: type, expires });
    if (
      store.reservationsOf(owner, now) >= MAX_SLOTS_PER_USER || store.reservationCount >= MAX_SLOTS
    ) {
      throw new StanzaError("wait", "resource-constraint", "Too many unused upload slots");
    }
    const usage = store.usageToday(owner, now);
    if (usage.bytes + size > limits.userQuotaBytesPerDay) {
      throw new StanzaError(
        "wait",
        "resource-constraint",
        `Quota reached. You can upload ${limits.userQuotaBytesPerDay} bytes in 24 hours`,
        undefined,
        usage.oldest === undefined
          ? undefined
          : el("retry", { xmlns: NS_UPLOAD, stamp: new Date(usage.oldest).toISOString() }),
      );
    }
    if (store.committedBytes(now) + size > limits.globalQuotaBytes) {
      throw new StanzaError("wait", "resource-constraint", "The upload service is full");
    }
    store.reserve({ id, name, owner, size, type, expires, granted: now });
    const getUrl = `${ctx.baseUrl()}/${api.domain}/${id}/${encodeURIComponent(name)}`;
    const putUrl = `${getUrl}?expires=${expires}&sig=${sig}`;
    api.log.debug("slot {id} for {owner}: {size} bytes of {type}", { id, owner, size, type });
    return el(
      "slot",
      { xmlns: NS_UPLOAD },
      el("put", { url: putUrl }),
      el("get", { url: getUrl }),
    );
  };
}

/**
 * Characters a file name must not keep: C0 and C1 controls, and the
 * Unicode bidi controls (marks, embeddings, overrides, isolates), with
 * which a name shown by a client or a browser's save dialog reads other
 * than it is ("evil\u202Egnp.exe" shows as "evilexe.png"); and the line
 * and paragraph separators.
 */
// deno-lint-ignore no-control-regex
const UNSAFE_IN_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * The last path segment of what the client sent, without the characters
 * above, at most MAX_NAME_LENGTH long; undefined when nothing is left.
 */
export function sanitizeName(raw: string): string | undefined {
  const base = raw.split(/[/\\]/).pop()!.replace(UNSAFE_IN_NAME, "").trim();
  const name = [...base].slice(0, MAX_NAME_LENGTH).join("");
  if (name === "" || name === "." || name === "..") return undefined;
  return name;
}

/**
 * A lowercased `type/subtype` without parameters; "" when absent (the
 * PUT's Content-Type then decides); undefined when malformed.
 */
export function normalizeType(raw: string | undefined): string | undefined {
  if (raw === undefined || raw.trim() === "") return "";
  const type = raw.split(";")[0].trim().toLowerCase();
  return MEDIA_TYPE.test(type) && type.length <= 127 ? type : undefined;
}

function typeAllowed(type: string, allowed: readonly string[]): boolean {
  if (allowed.length === 0) return true;
  return allowed.some((a) => {
    const pattern = a.toLowerCase();
    return pattern.endsWith("/*")
      ? type.startsWith(pattern.slice(0, -1))
      : pattern === type || pattern === "*/*" || pattern === "*";
  });
}
