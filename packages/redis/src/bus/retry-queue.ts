import type { CacheBusMessage } from "@cachet/tier";

/** Most keys put in one message when the queue is flushed. */
const KEYS_PER_MESSAGE = 500;

interface CacheQueue {
  clear: boolean;
  /** Keys whose copies must be expired (`set` and `invalidate` have the same effect on receivers). */
  readonly keys: Set<string>;
  /** `${type}\u0000${tag}` → latest `at`. */
  readonly tags: Map<string, number>;
}

/**
 * The messages a bus could not send, kept until the transport is back. De-duplicated (one item per
 * key, per tag, per cleared cache) and bounded: when it would exceed `maxSize` items, the cache
 * with the most queued items is collapsed into a single `clear`, which is stronger than what it
 * replaces. So an overflow costs the other instances their L1 copies of that cache, never an
 * invalidation.
 */
export class RetryQueue {
  readonly #maxSize: number;
  readonly #caches = new Map<string, CacheQueue>();
  #size = 0;
  /** Caches collapsed into a `clear` because the queue was full (for reports and tests). */
  collapsed = 0;

  constructor(maxSize: number) {
    this.#maxSize = maxSize;
  }

  /** Number of queued items (keys + tags + clears). */
  get size(): number {
    return this.#size;
  }

  add(message: CacheBusMessage): void {
    let queue = this.#caches.get(message.cache);
    if (queue === undefined) {
      queue = { clear: false, keys: new Set(), tags: new Map() };
      this.#caches.set(message.cache, queue);
    }
    switch (message.type) {
      case "set":
      case "invalidate":
        if (queue.clear) return;
        for (const key of message.keys) {
          if (!queue.keys.has(key)) {
            queue.keys.add(key);
            this.#size++;
          }
        }
        break;
      case "clear":
        this.#collapse(queue);
        break;
      case "expire-tags":
      case "invalidate-tags":
        if (queue.clear) return;
        for (const tag of message.tags) {
          const id = `${message.type}\u0000${tag}`;
          const at = queue.tags.get(id);
          if (at === undefined) this.#size++;
          if (at === undefined || at < message.at) queue.tags.set(id, message.at);
        }
        break;
    }
    while (this.#size > this.#maxSize && this.#collapseLargest()) this.collapsed++;
  }

  /** Removes and returns every queued message, clears first. */
  drain(): CacheBusMessage[] {
    const messages: CacheBusMessage[] = [];
    for (const [cache, queue] of this.#caches) {
      if (queue.clear) {
        messages.push({ type: "clear", cache });
        continue;
      }
      const keys = [...queue.keys];
      for (let i = 0; i < keys.length; i += KEYS_PER_MESSAGE) {
        messages.push({ type: "invalidate", cache, keys: keys.slice(i, i + KEYS_PER_MESSAGE) });
      }
      const byTypeAndTime = new Map<
        string,
        { type: "expire-tags" | "invalidate-tags"; at: number; tags: string[] }
      >();
      for (const [id, at] of queue.tags) {
        const separator = id.indexOf("\u0000");
        const type = id.slice(0, separator) as "expire-tags" | "invalidate-tags";
        const group = `${type}\u0000${at}`;
        let entry = byTypeAndTime.get(group);
        if (entry === undefined) byTypeAndTime.set(group, (entry = { type, at, tags: [] }));
        entry.tags.push(id.slice(separator + 1));
      }
      for (const { type, at, tags } of byTypeAndTime.values()) messages.push({ type, cache, tags, at });
    }
    messages.sort((a, b) => Number(b.type === "clear") - Number(a.type === "clear"));
    this.#caches.clear();
    this.#size = 0;
    return messages;
  }

  #collapse(queue: CacheQueue): void {
    this.#size -= queue.keys.size + queue.tags.size + (queue.clear ? 1 : 0);
    queue.keys.clear();
    queue.tags.clear();
    queue.clear = true;
    this.#size++;
  }

  #collapseLargest(): boolean {
    let largest: CacheQueue | undefined;
    let largestSize = 1;
    for (const queue of this.#caches.values()) {
      const size = queue.keys.size + queue.tags.size;
      if (!queue.clear && size > largestSize) {
        largest = queue;
        largestSize = size;
      }
    }
    if (largest === undefined) return false;
    this.#collapse(largest);
    return true;
  }
}
