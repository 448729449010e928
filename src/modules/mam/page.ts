/**
 * One page of an archive query: the filter (the form) selects a set,
 * RSM picks the page within it (XEP-0313 §4.3, XEP-0059). What comes
 * back is chronological, with the set's count, the page's index in it
 * and whether it is the end of the set in the paging direction
 * (`complete`: forwards no later item, backwards no earlier one).
 *
 * Storage does the work: one count of the set, one find of max+1 items
 * (the extra one tells whether more follow), and one or two counts for
 * the index when the page is not at either end (`indexOf`). An id the client names that is not
 * in the archive is item-not-found (§4.1.4, §4.3.2).
 */
import type { ArchiveItem, ArchiveQuery, ArchiveStore } from "../../storage/types.ts";
import { StanzaError } from "../../core/errors.ts";
import type { MamFilter } from "./query_form.ts";
import type { RsmRequest } from "./rsm.ts";

export interface PageLimits {
  defaultMax: number;
  maxMax: number;
  /**
   * Largest RSM `index` served: an index is found by walking the set from
   * its start, so it costs reading that many items.
   */
  maxIndex: number;
}

export interface Page {
  /** Oldest first. */
  items: ArchiveItem[];
  /** Items in the whole set. */
  count: number;
  /** Position of items[0] in the set. */
  index?: number;
  complete: boolean;
}

/** Items read per step while walking to an RSM index. */
const WALK_STEP = 500;

export async function findPage(
  store: ArchiveStore,
  user: string,
  filter: MamFilter,
  rsm: RsmRequest,
  limits: PageLimits,
): Promise<Page> {
  const max = Math.min(rsm.max ?? limits.defaultMax, limits.maxMax);
  await checkIdsExist(store, user, filter, rsm);
  const set: ArchiveQuery = {
    with: filter.with,
    start: filter.start,
    end: filter.end,
    after: filter.afterId,
    before: filter.beforeId,
    ids: filter.ids,
  };
  const count = await store.count(user, set);
  if (max === 0 || count === 0) return { items: [], count, complete: count === 0 };

  if (rsm.before !== undefined) {
    // Backwards: the `max` items just before `before` (the end when empty).
    const before = rsm.before === ""
      ? set.before
      : await earlier(store, user, set.before, rsm.before);
    const got = await store.find(user, { ...set, before, reverse: true, limit: max + 1 });
    const items = got.slice(0, max).reverse();
    const index = items.length === 0
      ? undefined
      : rsm.before === ""
      ? count - items.length
      : await indexOf(store, user, set, items[0].id, count, true);
    return { items, count, index, complete: got.length <= max };
  }

  let after = set.after;
  let skipped = 0;
  if (rsm.after !== undefined) after = await later(store, user, set.after, rsm.after);
  else if (rsm.index !== undefined && rsm.index > 0) {
    if (rsm.index >= count) return { items: [], count, complete: true };
    if (rsm.index > limits.maxIndex) {
      throw new StanzaError(
        "cancel",
        "feature-not-implemented",
        `RSM index above ${limits.maxIndex}: page with after/before`,
      );
    }
    while (skipped < rsm.index) {
      const step = await store.find(user, {
        ...set,
        after,
        limit: Math.min(WALK_STEP, rsm.index - skipped),
      });
      if (step.length === 0) break;
      skipped += step.length;
      after = step[step.length - 1].id;
    }
  }
  const got = await store.find(user, { ...set, after, limit: max + 1 });
  const items = got.slice(0, max);
  const index = items.length === 0
    ? undefined
    : rsm.after === undefined
    ? skipped
    : await indexOf(store, user, set, items[0].id, count, false);
  return { items, count, index, complete: got.length <= max };
}

/**
 * The position of `id` (in the set) among the set's `count` items, from
 * counting the items on its nearer side: a count costs the items it walks
 * (5 ms for a 50 000-message conversation, bench/results/2026-12-06-mam-page.md),
 * and a page near the newest end, where clients page backwards, has few
 * items after it. The side tried first is capped at half the set, so a
 * guess on the wrong side costs at most half a count more.
 */
async function indexOf(
  store: ArchiveStore,
  user: string,
  set: ArchiveQuery,
  id: string,
  count: number,
  nearEnd: boolean,
): Promise<number> {
  // `id` is in the set, so items after (before) it are within the set's
  // own after (before) bound: replacing that bound keeps the set.
  const half = Math.ceil(count / 2);
  if (nearEnd) {
    const newer = await store.count(user, { ...set, after: id, limit: half });
    if (newer < half) return count - newer - 1;
    return await store.count(user, { ...set, before: id });
  }
  const older = await store.count(user, { ...set, before: id, limit: half });
  if (older < half) return older;
  return count - await store.count(user, { ...set, after: id }) - 1;
}

/** item-not-found unless every id the client named is in the archive (one count). */
async function checkIdsExist(
  store: ArchiveStore,
  user: string,
  filter: MamFilter,
  rsm: RsmRequest,
): Promise<void> {
  const named = new Set(filter.ids);
  for (const id of [filter.afterId, filter.beforeId, rsm.after, rsm.before]) {
    if (id) named.add(id);
  }
  if (named.size === 0) return;
  const found = await store.count(user, { ids: [...named] });
  if (found !== named.size) {
    throw new StanzaError("cancel", "item-not-found", "No such message in the archive");
  }
}

/** Of two exclusive lower bounds (ids in the archive), the later one. */
async function later(store: ArchiveStore, user: string, a: string | undefined, b: string) {
  if (a === undefined) return b;
  return await store.count(user, { ids: [b], after: a }) === 1 ? b : a;
}

/** Of two exclusive upper bounds, the earlier one. */
async function earlier(store: ArchiveStore, user: string, a: string | undefined, b: string) {
  if (a === undefined) return b;
  return await store.count(user, { ids: [b], before: a }) === 1 ? b : a;
}
