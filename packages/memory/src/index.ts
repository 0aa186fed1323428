// Tier
export { MemoryTier } from "./memory-tier.js";
export type { MemoryTierOptions } from "./memory-tier.js";
