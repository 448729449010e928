/** What the deep check learnt about the server: the compliance table's input. */
export interface Facts {
  /** disco#info features of the domain and of the account's bare JID. */
  serverFeatures: Set<string>;
  accountFeatures: Set<string>;
  /** `name xmlns` of every stream feature seen before and after authentication. */
  streamFeatures: Set<string>;
  /** Behaviours shown to work: "login", "starttls", "direct-tls", "websocket", "bosh", "roster", ... */
  exercised: Set<string>;
  /** disco#items of the domain (bounded), and disco#info features per item. */
  items?: string[];
  serviceFeatures: Record<string, Set<string>>;
  mucService?: string;
  roomFeatures?: Set<string>;
  /** Whether the component listener is configured (XEP-0114: nothing to exercise without a secret). */
  componentListener: boolean;
}

export function newFacts(componentListener: boolean): Facts {
  return {
    serverFeatures: new Set(),
    accountFeatures: new Set(),
    streamFeatures: new Set(),
    exercised: new Set(),
    serviceFeatures: {},
    componentListener,
  };
}
