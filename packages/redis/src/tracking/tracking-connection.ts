/**
 * The connections `CLIENT TRACKING` needs: one RESP2 connection of its own per master, made with
 * the user's client (`duplicate()`, so host, credentials and TLS are the client's), for ioredis
 * 5/6 and node-redis 5/6, standalone or Cluster.
 *
 * Why RESP2 on a connection of its own, for every client: ioredis 6 and node-redis 6 default to
 * RESP3, where invalidations arrive as push messages each client handles differently (node-redis
 * only inside its own client-side cache); on RESP2, the connection redirects the invalidations to
 * itself and receives them as ordinary messages on `__redis__:invalidate`, the same for all four
 * clients. Such a connection never reconnects by itself: a lost connection lost its tracking
 * state, so the owner opens a new one (and learns it was blind meanwhile).
 */

/** One tracking connection, connected and ready for commands. */
export interface TrackingConnection {
  /** Sends one command (before `subscribe`). */
  command(args: readonly string[]): Promise<unknown>;
  /**
   * Subscribes to `__redis__:invalidate`: `onMessage` gets the invalidated keys, or `null` when
   * the server flushed the database.
   */
  subscribeInvalidations(onMessage: (keys: readonly Buffer[] | null) => void): Promise<void>;
  /** Calls `listener` once, when the connection is lost (error, close, server gone). */
  onLost(listener: (reason: string) => void): void;
  /** Drops the connection (no QUIT: nothing is owed to the server). */
  close(): void;
}

/** A master to track, and how to open a tracking connection to it. */
export interface TrackingNode {
  /** `host:port`, stable for one node: a topology change shows as a changed set of addresses. */
  readonly address: string;
  open(): Promise<TrackingConnection>;
}

const CHANNEL = "__redis__:invalidate";
const NAME = "cachet:tracking";

function toKeys(message: unknown): readonly Buffer[] | null {
  if (message === null || message === undefined) return null;
  const one = (key: unknown): Buffer =>
    Buffer.isBuffer(key) ? key : Buffer.from(typeof key === "string" ? key : JSON.stringify(key));
  // Some client versions hand a single key as a bulk string.
  return Array.isArray(message) ? message.map(one) : [one(message)];
}

/** Calls `listener` at most once, whatever fires first. */
function once(listener: (reason: string) => void): (reason: string) => void {
  let called = false;
  return (reason) => {
    if (called) return;
    called = true;
    listener(reason);
  };
}

interface IORedisNode {
  readonly options: { host?: string; port?: number };
  duplicate(options: object): IORedisTrackingClient;
}

interface IORedisTrackingClient {
  connect(): Promise<unknown>;
  call(...args: string[]): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  disconnect(): void;
}

/**
 * The masters of an ioredis `Redis` or `Cluster`. For a Cluster, the owners of the slots after
 * asking the cluster again (`refreshSlotsCache`, which tries the nodes in turn, each bounded by
 * the client's `slotsRefreshTimeout`), not its pool of connections: ioredis drops a failed node
 * from the pool while its slots still point to it, and a master missing from the list would look
 * tracked; nor its slot map as it was: after a failover, with no traffic to redirect it, that map
 * still names the demoted node, which a tracking connection would then watch in vain.
 */
export function ioredisTrackingNodes(
  client: unknown,
  isCluster: boolean,
): readonly TrackingNode[] | Promise<readonly TrackingNode[]> {
  if (!isCluster) {
    const node = client as IORedisNode;
    return [{ address: ioredisAddress(node), open: () => openIORedis(node, {}) }];
  }
  const cluster = client as {
    slots: readonly (readonly string[] | undefined)[];
    nodes(role: string): IORedisNode[];
    refreshSlotsCache(callback: (error?: Error | null) => void): void;
  };
  return new Promise((resolve, reject) => {
    cluster.refreshSlotsCache((error) => {
      if (error) reject(error);
      else resolve(ioredisSlotOwners(cluster));
    });
  });
}

function ioredisAddress(node: IORedisNode): string {
  return `${node.options.host ?? "127.0.0.1"}:${node.options.port ?? 6379}`;
}

function ioredisSlotOwners(cluster: {
  slots: readonly (readonly string[] | undefined)[];
  nodes(role: string): IORedisNode[];
}): readonly TrackingNode[] {
  const owners = new Set<string>();
  for (const nodes of cluster.slots) if (nodes?.[0] !== undefined) owners.add(nodes[0]);
  const pool = cluster.nodes("all");
  return [...owners].map((owner) => ({
    address: owner,
    open: () => {
      const same = pool.find((node) => ioredisAddress(node) === owner);
      if (same !== undefined) return openIORedis(same, {});
      const any = pool[0];
      if (any === undefined)
        return Promise.reject(new Error("the cluster client has no node to copy settings from"));
      return openIORedis(any, hostPort(owner));
    },
  }));
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

async function openIORedis(
  node: IORedisNode,
  at: { host?: string; port?: number },
): Promise<TrackingConnection> {
  const connection = node.duplicate({
    ...at,
    // ioredis 6 defaults to RESP3; ioredis 5 ignores the option.
    protocol: 2,
    lazyConnect: true,
    retryStrategy: () => null,
    autoResubscribe: false,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
    maxRetriesPerRequest: 0,
    commandTimeout: undefined,
    readOnly: false,
    keyPrefix: undefined,
    connectionName: NAME,
  });
  const lostListeners: ((reason: string) => void)[] = [];
  const lost = once((reason) => {
    for (const listener of lostListeners) listener(reason);
  });
  connection.on("error", (error: Error) => lost(`tracking connection error: ${error.message}`));
  connection.on("close", () => lost("tracking connection closed"));
  try {
    await connection.connect();
  } catch (error) {
    connection.disconnect();
    throw error;
  }
  return {
    command: (args) => connection.call(...args),
    async subscribeInvalidations(onMessage) {
      connection.on("messageBuffer", (channel: Buffer, message: unknown) => {
        if (channel.toString() === CHANNEL) onMessage(toKeys(message));
      });
      await connection.subscribe(CHANNEL);
    },
    onLost: (listener) => void lostListeners.push(listener),
    close: () => connection.disconnect(),
  };
}

interface NodeRedisTrackingClient {
  readonly options?: { socket?: object };
  duplicate(overrides: object): NodeRedisTrackingClient;
  connect(): Promise<unknown>;
  sendCommand(args: readonly string[]): Promise<unknown>;
  subscribe(channel: string, listener: (message: unknown) => void, bufferMode: boolean): Promise<unknown>;
  on(event: string, listener: (...args: never[]) => void): unknown;
  destroy?(): void;
  disconnect?(): Promise<void>;
}

interface NodeRedisMaster {
  readonly address?: string;
  readonly host?: string;
  readonly port?: number;
}

/** How long the cluster may take to answer `CLUSTER SLOTS` for a topology check. */
const SLOTS_TIMEOUT = 1_000;

/**
 * The masters of a node-redis client or cluster. For a cluster, the owners of the slots as the
 * cluster says now (`CLUSTER SLOTS` through the client, bounded by SLOTS_TIMEOUT), not the client's
 * `masters`: node-redis rediscovers only on a redirect or an error, so after a failover with no
 * traffic its list still names the demoted node, which a tracking connection would watch in vain.
 */
export function nodeRedisTrackingNodes(
  client: unknown,
  cluster: unknown,
): readonly TrackingNode[] | Promise<readonly TrackingNode[]> {
  if (cluster === undefined) {
    const standalone = client as NodeRedisTrackingClient & {
      options?: { socket?: { host?: string; port?: number }; url?: string };
    };
    const socket = standalone.options?.socket;
    const address =
      socket?.host !== undefined
        ? `${socket.host}:${socket.port ?? 6379}`
        : (standalone.options?.url ?? "default");
    return [{ address, open: () => openNodeRedis(standalone) }];
  }
  const typed = cluster as {
    masters: readonly NodeRedisMaster[];
    nodeClient(master: NodeRedisMaster): NodeRedisTrackingClient | Promise<NodeRedisTrackingClient>;
    sendCommand(key: undefined, isReadonly: boolean, args: readonly string[]): Promise<unknown>;
  };
  const known = (master: NodeRedisMaster): string => master.address ?? `${master.host}:${master.port}`;
  return withTimeout(typed.sendCommand(undefined, true, ["CLUSTER", "SLOTS"]), SLOTS_TIMEOUT).then((reply) =>
    slotOwners(reply).map((owner) => ({
      address: owner,
      open: async () => {
        const same = typed.masters.find((master) => known(master) === owner);
        if (same !== undefined) return openNodeRedis(await typed.nodeClient(same));
        // A master the client has not rediscovered yet: its settings, another node's address.
        const any = typed.masters[0];
        if (any === undefined) throw new Error("the cluster client has no node to copy settings from");
        return openNodeRedis(await typed.nodeClient(any), hostPort(owner));
      },
    })),
  );
}

/** The `host:port` of each master in a `CLUSTER SLOTS` reply. */
function slotOwners(reply: unknown): string[] {
  if (!Array.isArray(reply)) throw new Error(`CLUSTER SLOTS answered ${String(reply)}`);
  const owners = new Set<string>();
  for (const range of reply as unknown[]) {
    const master = Array.isArray(range) ? (range[2] as unknown) : undefined;
    if (Array.isArray(master)) owners.add(`${String(master[0])}:${String(master[1])}`);
  }
  return [...owners];
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to CLUSTER SLOTS within ${ms} ms`)), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

async function openNodeRedis(
  base: NodeRedisTrackingClient,
  at?: { host: string; port: number },
): Promise<TrackingConnection> {
  const connection = base.duplicate({
    RESP: 2,
    // node-redis 6 refuses RESP2 with these on; node-redis 5 ignores unknown options.
    maintNotifications: "disabled",
    clientSideCache: undefined,
    emitInvalidate: undefined,
    name: NAME,
    socket: { ...base.options?.socket, ...at, reconnectStrategy: false },
  });
  const lostListeners: ((reason: string) => void)[] = [];
  const lost = once((reason) => {
    for (const listener of lostListeners) listener(reason);
  });
  const drop = (): void => {
    try {
      connection.destroy?.();
    } catch {
      // Already closed.
    }
  };
  connection.on("error", (error: Error) => lost(`tracking connection error: ${error.message}`));
  connection.on("end", () => lost("tracking connection closed"));
  connection.on("reconnecting", () => lost("tracking connection closed"));
  try {
    await connection.connect();
  } catch (error) {
    drop();
    throw error;
  }
  return {
    command: (args) => connection.sendCommand(args),
    async subscribeInvalidations(onMessage) {
      await connection.subscribe(CHANNEL, (message) => onMessage(toKeys(message)), true);
    },
    onLost: (listener) => void lostListeners.push(listener),
    close: drop,
  };
}
