/** Header values for served uploads: byte ranges (RFC 9110 §14) and Content-Disposition. */

/**
 * The first-to-last byte (inclusive) a `Range` header asks of a `size`-byte
 * file; undefined when the header is not one bytes range we serve (then
 * the whole file is sent, as RFC 9110 §14.2 allows); "unsatisfiable" when
 * it starts past the end (416).
 */
export function parseRange(
  header: string,
  size: number,
): [number, number] | "unsatisfiable" | undefined {
  const m = /^bytes=\s*(\d*)-(\d*)\s*$/.exec(header);
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    // A suffix: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return "unsatisfiable";
    return size === 0 ? "unsatisfiable" : [Math.max(0, size - n), size - 1];
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return [start, end];
}

/** Types a browser may show in place: media, except SVG (which can carry script). */
function showsInline(type: string): boolean {
  return /^(image|audio|video)\//.test(type) && type !== "image/svg+xml";
}

/** `inline` for media, `attachment` otherwise, with the file name (RFC 6266, RFC 8187). */
export function contentDisposition(type: string, name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase(),
  );
  return `${showsInline(type) ? "inline" : "attachment"}; filename="${ascii}"; ` +
    `filename*=UTF-8''${encoded}`;
}
