export * from "@cachet/telemetry";
