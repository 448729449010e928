/** Every module Parley ships, by the name the config uses. One per line. */
import type { ParleyModule } from "../core/module_api.ts";
import { adhocModule } from "./adhoc/index.ts";
import { discoModule } from "./disco.ts";
import { lastModule } from "./last.ts";
import { offlineModule } from "./offline.ts";
import { pingModule } from "./ping.ts";
import { blockingModule } from "./blocking/index.ts";
import { registerModule } from "./register/index.ts";
import { sessionModule } from "./session.ts";
import { timeModule } from "./time.ts";
import { vcardModule } from "./vcard.ts";
import { privateModule } from "./private.ts";
import { rosterModule } from "./roster/roster_module.ts";
import { presenceModule } from "./roster/presence_module.ts";
import { versionModule } from "./version.ts";
import { componentModule } from "./component.ts";
import { s2sModule } from "./s2s.ts";
import { streamManagementModule } from "./stream_management/index.ts";
import { carbonsModule } from "./carbons/index.ts";
import { csiModule } from "./csi/index.ts";
import { fastModule } from "./fast/index.ts";
import { pushModule } from "./push/index.ts";
import { mamModule } from "./mam/index.ts";
import { externalServicesModule } from "./external_services/index.ts";
import { mucModule } from "./muc/index.ts";
import { pepModule } from "./pubsub/pep/index.ts";
import { pubsubModule } from "./pubsub/service/index.ts";
import { uploadModule } from "./upload/index.ts";

export const MODULES: ReadonlyMap<string, ParleyModule> = new Map(
  [
    sessionModule,
    rosterModule,
    presenceModule,
    pingModule,
    blockingModule,
    registerModule,
    adhocModule,
    discoModule,
    offlineModule,
    vcardModule,
    privateModule,
    versionModule,
    timeModule,
    lastModule,
    componentModule,
    s2sModule,
    streamManagementModule,
    carbonsModule,
    csiModule,
    fastModule,
    pushModule,
    mamModule,
    externalServicesModule,
    mucModule,
    pepModule,
    pubsubModule,
    uploadModule,
  ].map((m) => [m.name, m]),
);

/** Loaded on every host whatever the config says: the stream needs them. */
export const CORE_MODULES = ["session"];
