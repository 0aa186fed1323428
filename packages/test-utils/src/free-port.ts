import { createServer } from "node:net";

/** Ports the harness must never hand out: the machine's shared Redis lives on 6379. */
const RESERVED_PORTS = new Set([6379, 16379]);

function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(undefined));
    server.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === "object" && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/**
 * Finds a free TCP port on 127.0.0.1, asking the OS for one. With `withBusPort`, port + 10000 (the
 * Redis Cluster bus port) must be free too.
 */
export async function findFreePort(withBusPort = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probe(0);
    if (port === undefined || RESERVED_PORTS.has(port)) continue;
    if (!withBusPort) return port;
    if (port + 10_000 > 65_535) continue;
    if ((await probe(port + 10_000)) !== undefined) return port;
  }
  throw new Error("could not find a free port on 127.0.0.1 after 50 attempts");
}
