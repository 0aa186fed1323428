/**
 * Loads ioredis on first use (it is an optional peer). `require` is tried first, so that the
 * CommonJS build also works where dynamic `import()` is unavailable (jest without ESM support); in
 * the ESM build `require` does not exist (the bundler's stand-in throws) and `import()` is used.
 */
export async function importIORedis(): Promise<unknown> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above
    return require("ioredis") as unknown;
  } catch {
    return import("ioredis");
  }
}
