import { LRUCache } from "lru-cache";
import type { Redis } from "ioredis";

/** How the hand-rolled cache turns values into Redis bytes and back (JSON or msgpackr). */
export interface FloorCodec<V> {
  encode(value: V): Buffer | string;
  decode(bytes: Buffer): V;
}

/**
 * The floor of a two-tier read: what a careful engineer writes in thirty lines with lru-cache and
 * ioredis. An L1 miss reads Redis, decodes, back-fills the L1 with the same ttl and returns the value.
 * No coalescing, no fences, no events: everything cachet does on top of this is what it costs.
 */
export class HandRolledTiered<V extends object> {
  readonly #l1: LRUCache<string, V>;
  readonly #redis: Redis;
  readonly #codec: FloorCodec<V>;
  readonly #ttl: number;

  constructor(redis: Redis, codec: FloorCodec<V>, options: { max: number; ttl: number }) {
    this.#l1 = new LRUCache<string, V>({ max: options.max, ttl: options.ttl });
    this.#redis = redis;
    this.#codec = codec;
    this.#ttl = options.ttl;
  }

  get(key: string): V | Promise<V | undefined> {
    const hit = this.#l1.get(key);
    if (hit !== undefined) return hit;
    return this.#redis.getBuffer(key).then((bytes) => {
      if (bytes === null) return undefined;
      const value = this.#codec.decode(bytes);
      this.#l1.set(key, value);
      return value;
    });
  }

  set(key: string, value: V): Promise<unknown> {
    this.#l1.set(key, value);
    return this.#redis.set(key, this.#codec.encode(value), "PX", this.#ttl);
  }
}
