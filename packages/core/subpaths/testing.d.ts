// Re-exports @cachet/tier/testing: the conformance kit and the test doubles (MockCache, ManualClock).
export * from "@cachet/tier/testing";
