// The conformance kit
export { tierConformanceCases } from "./conformance.js";
export type {
  ConformanceCase,
  ConformanceCaseId,
  ConformanceContext,
  ConformanceTarget,
} from "./conformance.js";
