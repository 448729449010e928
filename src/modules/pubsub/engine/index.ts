/**
 * The publish-subscribe engine (XEP-0060 data model), shared by PEP
 * (XEP-0163, one scope per account) and the pubsub service (one scope,
 * ""). It knows nodes, items, configuration and access; it never sends a
 * stanza: a service module parses requests, calls the engine, and routes
 * the notifications it builds with the XML helpers.
 *
 * API:
 * - `new PubsubEngine({ storage, limits, defaults })`
 *   - storage: `mapStorage(api.map("<x>_nodes"), api.map("<x>_items"))` (any
 *     `PubsubStorage`); limits: `{ maxNodes, maxItemsPerNode, maxItemBytes,
 *     maxBytesPerScope?, maxSubscriptionsPerNode?, maxSubscriptionsPerJid?,
 *     maxNodesPerOwner? }`; accessModels? (the
 *     models a node may be given);
 *     defaults: `{ ...DEFAULT_CONFIG, access_model: … }`.
 *   - `getNode/requireNode/listNodes(scope, …)`; `createNode(scope, name,
 *     ownerBare, form?)`; `configureNode(scope, name, form)`;
 *     `publish(scope, { node, id?, payload?, publisher, options?, autoCreate? })`
 *     → `{ node, item, created, evicted }` (XEP-0223 preconditions checked
 *     against an existing node: `conflict` + `precondition-not-met`);
 *     `retract(scope, node, id, requesterBare)`; `purge`; `deleteNode`;
 *     `items(scope, node, { ids?, max? })` newest first; `lastItem`;
 *     `setAffiliations(scope, node, [[jid, aff]])`; `setSubscription(scope,
 *     node, jid, on)`; `setSubscriptions(scope, node, [[jid, on]], applied)`
 *     (an owner's batch: one write). Errors are thrown as StanzaErrors (pubsub#errors
 *     application conditions included), ready to reply with.
 *   - every operation on a scope runs in that scope's serial queue.
 * - Access (`access.ts`): `accessError(node, requesterBare, relations)` for
 *   the access models open/presence/roster/whitelist (authorize: closed),
 *   `mayPublish(node, bare)`, `affiliationOf`.
 * - Notifications (`notify.ts`): `notificationTargets(node, candidates,
 *   relations)` filters candidate recipients (full or bare JIDs) by access,
 *   plus the node's explicit subscribers.
 * - Config (`config.ts`): `DEFAULT_CONFIG`, `applyConfigForm`,
 *   `checkPreconditions`, `configForm`, `metaDataForm` (§5.4), `effectiveMaxItems` ("max" = the cap).
 * - XML (`xml.ts`): namespaces, `itemElement`, `eventItems`, `eventRetract`,
 *   `eventDelete`, `eventPurge`, `eventConfiguration`, `notification`,
 *   `lastItemNotification`.
 */
export * from "./types.ts";
export * from "./config.ts";
export * from "./errors.ts";
export * from "./storage.ts";
export * from "./access.ts";
export * from "./service.ts";
export * from "./notify.ts";
export * from "./xml.ts";
