import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

/**
 * Everything the harness started in this process: child pids and temp dirs. A synchronous
 * `exit` hook kills and removes whatever a test forgot to stop, so no redis-server outlives the
 * test run. Only pids recorded here are ever signalled.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let hooked = false;

function cleanUpSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, "SIGCONT");
        process.kill(child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

function hook(): void {
  if (hooked) return;
  hooked = true;
  process.once("exit", cleanUpSync);
}

/** Records a child process so the exit hook can kill it. */
export function trackChild(child: ChildProcess): void {
  hook();
  children.add(child);
  child.once("exit", () => children.delete(child));
}

/** Records a temp dir so the exit hook can remove it. */
export function trackTempDir(dir: string): void {
  hook();
  tempDirs.add(dir);
}

/** Removes a temp dir now and forgets it. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Number of harness children still alive; tests use it to prove nothing leaks. */
export function liveChildCount(): number {
  return children.size;
}
