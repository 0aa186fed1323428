import { createConnection, createServer, type Socket } from "node:net";

/** Options for {@link startTcpProxy}. */
export interface TcpProxyOptions {
  /** Where connections are forwarded. */
  target: { host: string; port: number };
  /** Delay added to every chunk in both directions, in ms. @default 0 */
  latency?: number;
}

/** A TCP proxy in front of a server, with knobs for chaos tests. */
export interface TcpProxy {
  /** The proxy's listening address on 127.0.0.1. */
  readonly host: string;
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Number of client connections currently open through the proxy. */
  readonly connectionCount: number;
  /** Delays every chunk forwarded from now on by `ms` (order is kept). */
  setLatency(ms: number): void;
  /** Destroys every live connection at once, mid-command if one is in flight. New connections are accepted. */
  cutAll(): void;
  /**
   * Partitions the clients from the target: destroys every live connection and, until
   * {@link TcpProxy.heal}, every new one as soon as it is accepted (the port stays open, so a
   * client keeps retrying the same address, as across a real network partition).
   */
  partition(): void;
  /** Ends a {@link TcpProxy.partition}: new connections are forwarded again. */
  heal(): void;
  /** True while partitioned. */
  readonly partitioned: boolean;
  /** Stops forwarding in both directions (bytes are held, connections stay open), as a network stall. */
  pause(): void;
  /** Forwards what was held during {@link TcpProxy.pause} and carries on. */
  resume(): void;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

interface Pair {
  client: Socket;
  upstream: Socket;
}

/**
 * Starts a TCP proxy on a free port of 127.0.0.1 that forwards to `target`. Latency is applied
 * per chunk with timers, so it is real time: use small values in tests.
 */
export function startTcpProxy(options: TcpProxyOptions): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let latency = options.latency ?? 0;
  let paused = false;
  const held: (() => void)[] = [];

  const forward = (from: Socket, to: Socket): void => {
    let chain = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      const send = (): void => {
        if (!to.destroyed) to.write(chunk);
      };
      const delayMs = latency;
      chain = chain.then(
        () =>
          new Promise<void>((resolve) => {
            const deliver = (): void => {
              if (paused) held.push(() => deliver());
              else {
                send();
                resolve();
              }
            };
            if (delayMs > 0) setTimeout(deliver, delayMs);
            else deliver();
          }),
      );
    });
  };

  let partitioned = false;
  const server = createServer((client) => {
    if (partitioned) {
      client.destroy();
      return;
    }
    const upstream = createConnection(options.target);
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
    forward(client, upstream);
    forward(upstream, client);
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0 }, () => {
      const address = server.address();
      if (typeof address !== "object" || address === null) {
        reject(new Error("proxy has no address"));
        return;
      }
      const port = address.port;
      const cutAll = (): void => {
        for (const { client, upstream } of pairs) {
          client.destroy();
          upstream.destroy();
        }
        pairs.clear();
      };
      resolve({
        host: "127.0.0.1",
        port,
        url: `redis://127.0.0.1:${port}`,
        get connectionCount() {
          return pairs.size;
        },
        setLatency(ms: number) {
          if (!(ms >= 0)) throw new Error("latency must be >= 0");
          latency = ms;
        },
        cutAll,
        partition() {
          partitioned = true;
          cutAll();
        },
        heal() {
          partitioned = false;
        },
        get partitioned() {
          return partitioned;
        },
        pause() {
          paused = true;
        },
        resume() {
          paused = false;
          for (const release of held.splice(0)) release();
        },
        close() {
          paused = false;
          held.length = 0;
          cutAll();
          return new Promise<void>((done) => server.close(() => done()));
        },
      });
    });
  });
}
