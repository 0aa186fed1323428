// Re-exports @cachet/service (an optional peer dependency: install it to use this subpath).
export * from "@cachet/service";
