// Re-exports @cachet/telemetry (an optional peer dependency: install it to use this subpath).
export * from "@cachet/telemetry";
