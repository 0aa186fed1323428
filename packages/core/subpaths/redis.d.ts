export * from "@cachet/redis";
