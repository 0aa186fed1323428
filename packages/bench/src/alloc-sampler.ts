// Sampled allocations by site, for the profiling tools (`profile.ts`, the HTTP server's `--alloc`
// windows in `scripts/http-ab.mjs`): V8's sampling heap profiler with a 32-byte interval, counting
// objects a GC already reclaimed too, so the figure is what was allocated, not what survived.
import { Session } from "node:inspector/promises";

interface AllocationNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: AllocationNode[];
}

/** What was allocated while sampling: the total, and the 15 largest sites (name, bytes). */
export interface Allocations {
  readonly total: number;
  readonly sites: readonly (readonly [site: string, bytes: number])[];
}

/** Starts sampling; the returned function stops it and reports what was allocated meanwhile. */
export async function startAllocationSampling(): Promise<() => Promise<Allocations>> {
  const session = new Session();
  session.connect();
  await session.post("HeapProfiler.startSampling", {
    samplingInterval: 32,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = (await session.post("HeapProfiler.stopSampling")) as {
      profile: { head: AllocationNode };
    };
    session.disconnect();
    const bySite = new Map<string, number>();
    let total = 0;
    const walk = (node: AllocationNode): void => {
      if (node.selfSize > 0) {
        const { functionName, url, lineNumber } = node.callFrame;
        const file = url.replace(/^.*node_modules\//, "").replace(/^.*\/packages\//, "");
        const site = `${functionName || "(anonymous)"} ${file}:${lineNumber + 1}`;
        bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
        total += node.selfSize;
      }
      for (const child of node.children) walk(child);
    };
    walk(profile.head);
    return { total, sites: [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 15) };
  };
}
