/**
 * Data Forms (XEP-0004): a small builder and parser shared by the modules
 * that carry forms (registration, ad-hoc commands, extended disco info).
 * Only what those need: fields with values, labels, required flags and
 * options; no validation of field types beyond what the caller asks.
 */
import { el, type Element } from "../xml/element.ts";

export const NS_DATA = "jabber:x:data";

export type FormType = "form" | "submit" | "cancel" | "result";

export type FieldType =
  | "boolean"
  | "fixed"
  | "hidden"
  | "jid-multi"
  | "jid-single"
  | "list-multi"
  | "list-single"
  | "text-multi"
  | "text-private"
  | "text-single";

export interface FormField {
  /** Absent only for `fixed` fields. */
  var?: string;
  type?: FieldType;
  label?: string;
  desc?: string;
  required?: boolean;
  /** One `<value/>` per entry (text-multi: one per line; jid-multi: one per JID). */
  values?: readonly string[];
  options?: readonly { label?: string; value: string }[];
}

export interface FormOptions {
  title?: string;
  instructions?: string;
  /** Added as the hidden FORM_TYPE field first (XEP-0068). */
  formType?: string;
}

/** `<x xmlns='jabber:x:data' type=…>` with the given fields. */
export function form(
  type: FormType,
  fields: readonly FormField[],
  options: FormOptions = {},
): Element {
  const x = el("x", { xmlns: NS_DATA, type });
  if (options.title !== undefined) x.append(el("title", {}, options.title));
  if (options.instructions !== undefined) {
    x.append(el("instructions", {}, options.instructions));
  }
  if (options.formType !== undefined) {
    x.append(fieldElement({ var: "FORM_TYPE", type: "hidden", values: [options.formType] }));
  }
  for (const f of fields) x.append(fieldElement(f));
  return x;
}

function fieldElement(f: FormField): Element {
  const field = el("field", { var: f.var, type: f.type, label: f.label });
  if (f.desc !== undefined) field.append(el("desc", {}, f.desc));
  if (f.required) field.append(el("required"));
  for (const v of f.values ?? []) field.append(el("value", {}, v));
  for (const o of f.options ?? []) {
    field.append(el("option", { label: o.label }, el("value", {}, o.value)));
  }
  return field;
}

/** Field var → its values, in document order. FORM_TYPE is included. */
export type FormValues = Map<string, string[]>;

/**
 * The values of a form element. `el` may be the `<x/>` itself or an
 * element containing one (the first `jabber:x:data` child is used).
 * Undefined when there is no form.
 */
export function parseForm(x: Element): FormValues | undefined {
  const data = x.name === "x" && x.attrs.xmlns === NS_DATA ? x : x.getChild("x", NS_DATA);
  if (!data) return undefined;
  const out: FormValues = new Map();
  for (const field of data.getChildren("field")) {
    const name = field.attrs.var;
    if (name === undefined) continue;
    const values = field.getChildren("value").map((v) => v.text());
    const prev = out.get(name);
    if (prev) prev.push(...values);
    else out.set(name, values);
  }
  return out;
}

/** The form's type attribute ("submit", "cancel"…), if it is a form. */
export function formType(x: Element): string | undefined {
  const data = x.name === "x" && x.attrs.xmlns === NS_DATA ? x : x.getChild("x", NS_DATA);
  return data?.attrs.type;
}

/** The first value of `name`, or undefined. */
export function formValue(values: FormValues, name: string): string | undefined {
  return values.get(name)?.[0];
}

/** XEP-0004 §3.3: a boolean field is true for "1" or "true". */
export function formBoolean(values: FormValues, name: string): boolean | undefined {
  const v = formValue(values, name);
  if (v === undefined) return undefined;
  return v === "1" || v === "true";
}
