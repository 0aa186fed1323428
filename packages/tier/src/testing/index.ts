// The conformance kit
export { tierConformanceCases } from "./conformance.js";
export type {
  ConformanceCase,
  ConformanceCaseId,
  ConformanceContext,
  ConformanceExclusion,
  ConformanceTarget,
} from "./conformance.js";
