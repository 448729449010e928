/**
 * Items modules offer each other through the API (`api.provide`,
 * `api.items`) instead of importing each other's registries: ad-hoc
 * commands, static disco items, extra data-form fields. One registry per
 * host; an item is there from `provide` until its remover runs (or its
 * module is unloaded), and `items` lists what is there now, in the order
 * provided — read it when needed rather than caching it, so items
 * provided by modules loaded later, or gone with an unloaded module, are
 * seen.
 */
import type { AdhocCommand } from "../modules/adhoc/types.ts";
import type { FormField } from "../util/dataforms.ts";
import type { Remover } from "./events.ts";
import type { Bind2Inline, Sasl2Inline, Sasl2Mechanism } from "./inline_features.ts";

/** An `<item/>` listed in the host's disco#items (XEP-0030 §4). */
export interface DiscoItem {
  jid: string;
  node?: string;
  name?: string;
}

/** A field another module adds to a form it does not own, by the form's FORM_TYPE. */
export interface FormFieldItem {
  formType: string;
  field: FormField;
}

/** Typed kinds. Another string is accepted too, with the item type the caller names. */
export interface ProviderMap {
  /** XEP-0050 commands run by the adhoc module (listed to whom `allowed` says). */
  "adhoc-command": AdhocCommand;
  /** Items of the host's disco#items without a node (disco module). */
  "disco-item": DiscoItem;
  /** Fields for forms of other modules (the form's owner reads those of its FORM_TYPE). */
  "form-field": FormFieldItem;
  /** Features enabled inline with Bind2 (XEP-0386): carbons, CSI, SM enable. */
  "bind2-inline": Bind2Inline;
  /** Features negotiated inside SASL2's `<authenticate/>` (XEP-0388): SM resume, FAST. */
  "sasl2-inline": Sasl2Inline;
  /** Mechanisms only SASL2 offers, started by their module (FAST's HT-*). */
  "sasl2-mechanism": Sasl2Mechanism;
}

export type ProviderKind = keyof ProviderMap;

export class ProviderRegistry {
  #items = new Map<string, readonly unknown[]>();

  provide<K extends ProviderKind>(kind: K, item: ProviderMap[K]): Remover;
  provide<T>(kind: string, item: T): Remover;
  provide(kind: string, item: unknown): Remover {
    // Copy-on-write: a list handed out by `items` never changes under its reader.
    const box = { item };
    this.#items.set(kind, [...(this.#items.get(kind) ?? []), box]);
    return () => {
      const rest = (this.#items.get(kind) ?? []).filter((b) => b !== box);
      if (rest.length) this.#items.set(kind, rest);
      else this.#items.delete(kind);
    };
  }

  items<K extends ProviderKind>(kind: K): ProviderMap[K][];
  items<T>(kind: string): T[];
  items(kind: string): unknown[] {
    return (this.#items.get(kind) ?? []).map((b) => (b as { item: unknown }).item);
  }
}
