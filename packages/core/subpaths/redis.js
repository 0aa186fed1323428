// Re-exports @cachet/redis (an optional peer dependency: install it to use this subpath).
export * from "@cachet/redis";
