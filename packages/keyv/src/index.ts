// Keyv storage adapters as cachet tiers
export { KeyvTier } from "./keyv-tier.js";
export type { KeyvTierOptions } from "./keyv-tier.js";
export type { KeyvStorageAdapterLike } from "./keyv-storage.js";

// A cachet Cache as a Keyv store
export { CachetKeyvStore, keyvStore } from "./cachet-keyv-store.js";
export type { CachetKeyvStoreOptions } from "./cachet-keyv-store.js";
