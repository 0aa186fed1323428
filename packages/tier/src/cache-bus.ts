/**
 * What one cache instance tells the others so their in-process (L1) copies stay coherent. Messages
 * carry keys, never values: a receiver drops or expires its copy and reads the shared tier again.
 *
 * - `set` / `invalidate`: these keys changed or were removed.
 * - `clear`: every entry of the cache was removed.
 * - `expire-tags`: entries with these tags are stale from `at` on (still usable by fail-safe).
 * - `invalidate-tags`: entries with these tags are gone from `at` on.
 */
export type CacheBusMessage =
  | { readonly type: "set" | "invalidate"; readonly cache: string; readonly keys: readonly string[] }
  | { readonly type: "clear"; readonly cache: string }
  | {
      readonly type: "expire-tags" | "invalidate-tags";
      readonly cache: string;
      readonly tags: readonly string[];
      /** When the tags were invalidated or expired, in epoch ms on the publisher's clock. */
      readonly at: number;
    };

/** What a subscriber learns when its bus connection comes back after a loss. */
export interface BusReconnectInfo {
  /**
   * True when messages may have been missed while disconnected (pub/sub): the receiver must not
   * trust its L1 and clears it. False when the transport replayed what was missed (streams).
   */
  readonly mayHaveMissedMessages: boolean;
}

/**
 * Publish/subscribe of {@link CacheBusMessage}s between the instances of a fleet, so one process's
 * write or invalidation evicts stale L1 copies in every other process.
 *
 * Contract:
 * - `publish` resolves once the message was handed to the transport, or was queued for retry
 *   because the transport is down; it never rejects for a transport failure. A queue of unsent
 *   messages is bounded and de-duplicated.
 * - Subscribers never receive the messages their own instance published.
 * - `onReconnect` handlers run after a lost connection is restored.
 * - Handlers must not throw; a throwing handler does not stop delivery to others.
 */
export interface CacheBus {
  /** Unique id of this instance; messages carry it so that an instance ignores its own. */
  readonly instanceId: string;
  /** Sends a message to every other instance. */
  publish(message: CacheBusMessage): Promise<void>;
  /** Receives messages from other instances; returns the function that unsubscribes. */
  subscribe(handler: (message: CacheBusMessage) => void): () => void;
  /** Runs `handler` after each reconnection; returns the function that unsubscribes. */
  onReconnect?(handler: (info: BusReconnectInfo) => void): () => void;
  /** Releases connections and timers the bus owns. */
  close?(): Promise<void>;
}

let nextInstance = 0;

/**
 * An in-process {@link CacheBus}: every `MemoryBus` attached to the same {@link MemoryBusHub}
 * receives the others' messages synchronously. For tests of multi-instance behaviour in one
 * process, and for apps that run several caches over one shared tier in one process.
 *
 * @example
 * const hub = new MemoryBusHub();
 * const a = Cache.builder().memory({ maxEntries: 100 }).fallback(l2).bus(new MemoryBus(hub)).build();
 * const b = Cache.builder().memory({ maxEntries: 100 }).fallback(l2).bus(new MemoryBus(hub)).build();
 */
export class MemoryBus implements CacheBus {
  readonly instanceId: string;
  readonly #hub: MemoryBusHub;
  readonly #handlers = new Set<(message: CacheBusMessage) => void>();
  readonly #reconnectHandlers = new Set<(info: BusReconnectInfo) => void>();
  #closed = false;

  constructor(hub: MemoryBusHub, instanceId = `memory-bus-${++nextInstance}`) {
    this.#hub = hub;
    this.instanceId = instanceId;
    hub.attach(this);
  }

  publish(message: CacheBusMessage): Promise<void> {
    if (!this.#closed) this.#hub.broadcast(this, message);
    return Promise.resolve();
  }

  subscribe(handler: (message: CacheBusMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  onReconnect(handler: (info: BusReconnectInfo) => void): () => void {
    this.#reconnectHandlers.add(handler);
    return () => this.#reconnectHandlers.delete(handler);
  }

  /** Simulates a restored connection (for tests of reconnect handling). */
  simulateReconnect(info: BusReconnectInfo = { mayHaveMissedMessages: true }): void {
    for (const handler of this.#reconnectHandlers) safeCall(handler, info);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#hub.detach(this);
    this.#handlers.clear();
    this.#reconnectHandlers.clear();
    return Promise.resolve();
  }

  /** @internal */
  deliver(message: CacheBusMessage): void {
    for (const handler of this.#handlers) safeCall(handler, message);
  }
}

/** Connects {@link MemoryBus} instances; see there. */
export class MemoryBusHub {
  readonly #buses = new Set<MemoryBus>();
  /** Every message published through this hub, in order (for assertions in tests). */
  readonly published: { readonly from: string; readonly message: CacheBusMessage }[] = [];

  /** @internal */
  attach(bus: MemoryBus): void {
    this.#buses.add(bus);
  }

  /** @internal */
  detach(bus: MemoryBus): void {
    this.#buses.delete(bus);
  }

  /** @internal */
  broadcast(from: MemoryBus, message: CacheBusMessage): void {
    this.published.push({ from: from.instanceId, message });
    for (const bus of this.#buses) if (bus !== from) bus.deliver(message);
  }
}

function safeCall<T>(handler: (arg: T) => void, arg: T): void {
  try {
    handler(arg);
  } catch {
    // A throwing handler must not stop delivery to the others.
  }
}
