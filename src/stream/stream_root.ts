/**
 * RFC 6120 §4.8 header checks every listener makes (c2s, s2s, component):
 * the root is a `stream` element in the streams namespace and the default
 * namespace is the one this kind of stream carries.
 */
import { StreamError } from "../core/errors.ts";
import { NS } from "../xml/namespaces.ts";

export function checkStreamRoot(
  name: string,
  ns: string,
  defaultNs: string | undefined,
  expected: string,
): void {
  if (name !== "stream:stream" && !name.endsWith(":stream") && name !== "stream") {
    throw new StreamError("invalid-namespace", "The root element must be a stream");
  }
  if (ns !== NS.stream) throw new StreamError("invalid-namespace", "Wrong stream namespace");
  if (defaultNs !== expected) {
    throw new StreamError("invalid-namespace", "The default namespace must be " + expected);
  }
}
