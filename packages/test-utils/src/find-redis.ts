import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const INSTALL_HINT = "install it with `apt-get install -y redis-server` (or `brew install redis`)";

function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Paths of the Redis binaries, or `undefined` when `redis-server` cannot be found. */
export interface RedisBinaries {
  server: string;
  cli: string | undefined;
}

/**
 * Locates `redis-server` (and `redis-cli` beside it or on PATH). `CACHET_REDIS_SERVER` overrides
 * the lookup with an explicit path.
 */
export function findRedisBinaries(): RedisBinaries | undefined {
  const explicit = process.env["CACHET_REDIS_SERVER"];
  const server = explicit !== undefined && explicit !== "" ? explicit : findOnPath("redis-server");
  if (server === undefined) return undefined;
  const sibling = join(server, "..", "redis-cli");
  let cli: string | undefined;
  try {
    accessSync(sibling, constants.X_OK);
    cli = sibling;
  } catch {
    cli = findOnPath("redis-cli");
  }
  return { server, cli };
}

/**
 * The Redis binaries, or a thrown error naming how to install them. Used where a test cannot do
 * without a process it controls (fault injection, clusters).
 */
export function requireRedisBinaries(): RedisBinaries {
  const found = findRedisBinaries();
  if (!found) throw new Error(`redis-server not found on PATH; ${INSTALL_HINT}`);
  return found;
}

let bannerShown = false;

/**
 * True when Redis suites can run: either `REDIS_URL` is set or `redis-server` is installed.
 *
 * When neither is available: under `CI=true` it throws (a skipped suite is not a passing one),
 * otherwise it prints one loud banner per process and returns false so suites can skip.
 *
 * @param needsProcess - the suite kills or restarts servers, so `REDIS_URL` alone is not enough.
 */
export function redisAvailable(needsProcess = false): boolean {
  if (!needsProcess && process.env["REDIS_URL"]) return true;
  if (findRedisBinaries()) return true;
  if (process.env["CI"] === "true") {
    throw new Error(
      `redis-server not found and CI=true: the Redis suites cannot be skipped in CI; ${INSTALL_HINT}`,
    );
  }
  if (!bannerShown) {
    bannerShown = true;
    const line = "!".repeat(78);
    process.stderr.write(
      `\n${line}\n!! redis-server not found: SKIPPING the Redis test suites.\n` +
        `!! Skipped is not passing. To run them, ${INSTALL_HINT},\n!! or set REDIS_URL.\n${line}\n\n`,
    );
  }
  return false;
}
