/**
 * This cache's end of the bus: the messages that announce its explicit writes, sending them, and
 * applying the messages other instances send.
 *
 * Invariants: a bus that rejects a publish is reported (`tier_error` on tier `"bus"`), never thrown
 * to the writer (the bus queues what it cannot send); a message for another cache, or after
 * `close()`, is ignored; a key the bus cannot decode is skipped, not fatal.
 */
import type { CacheBus, CacheBusMessage, Clock } from "@cachet/tier";
import type { BusKeys } from "./cache-config.js";
import type { CacheEmitter } from "./cache-emitter.js";
import type { L1Coherence } from "./l1-coherence.js";
import type { TagOperationType } from "./tag-ledger.js";

/** @internal */
export class BusLink<K> {
  readonly #name: string;
  readonly #bus: CacheBus | undefined;
  readonly #keys: BusKeys<K>;
  readonly #emitter: CacheEmitter<K>;

  constructor(options: {
    name: string;
    bus: CacheBus | undefined;
    keys: BusKeys<K>;
    emitter: CacheEmitter<K>;
  }) {
    this.#name = options.name;
    this.#bus = options.bus;
    this.#keys = options.keys;
    this.#emitter = options.emitter;
  }

  /** The message that announces an explicit write of `key` (none without a bus). */
  keyNotice(type: "set" | "invalidate", key: K): CacheBusMessage | undefined {
    if (this.#bus === undefined) return undefined;
    return { type, cache: this.#name, keys: [this.#keys.encode(key)] };
  }

  /** The message that announces a write of several keys, by their encoded names. */
  keysNotice(type: "set" | "invalidate", keys: string[]): CacheBusMessage {
    return { type, cache: this.#name, keys };
  }

  /** The message that announces `clear()` (none without a bus). */
  clearNotice(): CacheBusMessage | undefined {
    return this.#bus === undefined ? undefined : { type: "clear", cache: this.#name };
  }

  /** The message that announces a tag operation made at `at` (none without a bus). */
  tagNotice(type: TagOperationType, tags: readonly string[], at: number): CacheBusMessage | undefined {
    return this.#bus === undefined ? undefined : { type, cache: this.#name, tags: [...tags], at };
  }

  async publish(message: CacheBusMessage): Promise<void> {
    if (this.#bus === undefined) return;
    try {
      await this.#bus.publish(message);
    } catch (error) {
      this.#emitter.emit("tier_error", "bus", undefined, "bus", { error });
    }
  }

  /**
   * Applies other instances' messages to `coherence` until the returned functions are called.
   * After a reconnect that may have lost messages, L1 is emptied (and `bus_reconnected` reported).
   */
  listen<V>(coherence: L1Coherence<K, V>, clock: Clock, isClosed: () => boolean): (() => void)[] {
    const bus = this.#bus;
    if (bus === undefined) return [];
    const stops = [bus.subscribe((message) => this.#receive(message, coherence, clock, isClosed))];
    if (bus.onReconnect) {
      stops.push(
        bus.onReconnect((info) => {
          if (info.mayHaveMissedMessages) coherence.everythingChangedElsewhere();
          this.#emitter.emit("bus_reconnected", "bus", undefined, undefined);
        }),
      );
    }
    return stops;
  }

  #receive<V>(
    message: CacheBusMessage,
    coherence: L1Coherence<K, V>,
    clock: Clock,
    isClosed: () => boolean,
  ): void {
    if (isClosed() || message.cache !== this.#name) return;
    switch (message.type) {
      case "set":
      case "invalidate":
        for (const text of message.keys) {
          let key: K;
          try {
            key = this.#keys.decode(text);
          } catch {
            continue;
          }
          coherence.changedElsewhere(key);
        }
        break;
      case "clear":
        coherence.everythingChangedElsewhere();
        break;
      case "expire-tags":
      case "invalidate-tags":
        // The receiver's own clock: an entry it cached before now may predate the invalidation.
        coherence.applyTags(message.type, message.tags, Math.max(message.at, clock.now()));
        break;
    }
    this.#emitter.emit("bus_received", "bus", undefined, undefined);
  }
}
