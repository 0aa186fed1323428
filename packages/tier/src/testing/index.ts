// The conformance kit
export { tierConformanceCases } from "./conformance.js";
export type {
  ConformanceCase,
  ConformanceCaseId,
  ConformanceContext,
  ConformanceExclusion,
  ConformanceTarget,
} from "./conformance.js";

// Test doubles. ManualClock is also on the main entry: applications drive their own time with it.
export { ManualClock } from "@cachet/tier";
export { MockCache } from "./mock-cache.js";
export type { MockCacheCall, MockCacheOperation, MockCacheOptions } from "./mock-cache.js";
