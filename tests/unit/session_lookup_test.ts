/**
 * SessionRegistry as a SessionLookup: by full JID, and by account with the
 * priorities RFC 6121 §8.5.2 delivers by. Sessions without a driver (they
 * are never written to here).
 */
import assert from "node:assert/strict";
import { EventHub } from "../../src/core/events.ts";
import { Session } from "../../src/core/session.ts";
import type { SessionLookup } from "../../src/core/session_lookup.ts";
import { SessionRegistry } from "../../src/core/sessions.ts";
import { el } from "../../src/xml/element.ts";

function registry(): SessionRegistry {
  const r = new SessionRegistry({ conflict: "replace", maxResourcesPerUser: 8, dispatch() {} });
  r.addHost("example.org", new EventHub());
  r.addHost("example.net", new EventHub());
  return r;
}

function bind(r: SessionRegistry, host: string, user: string, resource: string, priority?: number) {
  const s = new Session(user + "/" + resource);
  s.type = "c2s";
  s.host = host;
  s.username = user;
  assert.equal(r.bind(s, resource), undefined);
  if (priority !== undefined) {
    s.priority = priority;
    s.presence = el("presence");
  }
  return s;
}

Deno.test("lookup: full JID, resources, available, bound, per host", () => {
  const r = registry();
  const lookup: SessionLookup = r;
  const a = bind(r, "example.org", "juliet", "balcony", 1);
  const b = bind(r, "example.org", "juliet", "chamber");
  const other = bind(r, "example.net", "juliet", "balcony", 1);
  assert.equal(lookup.full("juliet@example.org/balcony", "example.org"), a);
  assert.equal(lookup.full("juliet@example.org/balcony", "example.net"), undefined);
  assert.deepEqual(lookup.resources("example.org", "juliet"), [a, b]);
  assert.deepEqual(lookup.available("example.org", "juliet"), [a]);
  assert.deepEqual(lookup.bound("example.net"), [other]);
  assert.deepEqual(lookup.resources("example.org", "romeo"), []);
  r.destroySession(a);
  assert.deepEqual(lookup.resources("example.org", "juliet"), [b]);
});

Deno.test("lookup: bare-JID targets are non-negative available resources, highest first", () => {
  const r = registry();
  const low = bind(r, "example.org", "juliet", "low", 0);
  bind(r, "example.org", "juliet", "negative", -1);
  bind(r, "example.org", "juliet", "unavailable");
  const high = bind(r, "example.org", "juliet", "high", 5);
  const high2 = bind(r, "example.org", "juliet", "high2", 5);
  assert.deepEqual(r.bareTargets("example.org", "juliet"), [high, high2, low]);
  assert.deepEqual(r.bareTargets("example.org", "romeo"), []);
});

Deno.test("lookup: the roster is shared by an online account's resources", () => {
  const r = registry();
  r.setRoster("example.org", "juliet", "nobody online: not kept");
  assert.equal(r.roster("example.org", "juliet"), undefined);
  const a = bind(r, "example.org", "juliet", "balcony");
  const roster = { items: [] };
  r.setRoster("example.org", "juliet", roster);
  const b = bind(r, "example.org", "juliet", "chamber");
  assert.equal(r.roster("example.org", "juliet"), roster);
  assert.equal(a.roster, roster);
  assert.equal(b.roster, roster);
});
