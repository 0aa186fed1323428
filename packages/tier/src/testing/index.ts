// The conformance kit
export { tierConformanceCases } from "./conformance.js";
export type {
  ConformanceCase,
  ConformanceCaseId,
  ConformanceContext,
  ConformanceExclusion,
  ConformanceTarget,
} from "./conformance.js";

// Test doubles (also on the main entry, where @cachet/service uses MockCache as a default store)
export { ManualClock, MockCache } from "@cachet/tier";
export type { MockCacheCall, MockCacheOperation, MockCacheOptions } from "@cachet/tier";
