/**
 * CORS for BOSH (browsers on another origin): only origins named in
 * `bosh.corsOrigins` get an Access-Control-Allow-Origin; by default none,
 * so a page elsewhere cannot drive a user's session through the browser.
 */
export class CorsPolicy {
  readonly #origins: Set<string>;
  readonly #any: boolean;

  constructor(origins: readonly string[]) {
    this.#origins = new Set(origins);
    this.#any = this.#origins.has("*");
  }

  /** Headers for a response to a request from `origin` (none when not allowed). */
  headers(origin: string | null): Record<string, string> {
    if (origin === null || !(this.#any || this.#origins.has(origin))) return {};
    return { "access-control-allow-origin": origin, vary: "Origin" };
  }

  /** A preflight (OPTIONS) answer: what the browser may send next. */
  preflight(origin: string | null): Response {
    const allowed = this.headers(origin);
    const headers: Record<string, string> = { ...allowed };
    if (Object.keys(allowed).length > 0) {
      headers["access-control-allow-methods"] = "POST, OPTIONS";
      headers["access-control-allow-headers"] = "Content-Type";
      headers["access-control-max-age"] = "86400";
    }
    return new Response(null, { status: 204, headers });
  }
}
