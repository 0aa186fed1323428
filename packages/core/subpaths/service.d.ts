export * from "@cachet/service";
