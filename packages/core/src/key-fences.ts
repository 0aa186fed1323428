/**
 * Per-key write fences: the guard that keeps a slow operation from overwriting a newer write.
 *
 * Invariant: every operation that may write a key later (a load, a promotion, a refresh, a
 * batch load) takes a {@link FenceTicket} before its first await and checks
 * {@link KeyFences.isCurrent} right before writing. Every write, invalidation, clear, tag
 * operation or bus message bumps the key's generation, so a ticket taken before it is stale.
 *
 * Scope: a fence exists only while some ticket holds it (reference counted), so a key nobody is
 * loading costs nothing. A write with no ticket in flight has nothing to fence off: `bump` on an
 * absent fence is a no-op, and the next ticket starts a new generation count. The fence covers this
 * process only; other processes are fenced by the bus (which supersedes the key here).
 *
 * Must never await: acquiring, checking and releasing are synchronous, so no write can slip between
 * a check and the tier calls it guards (the tier calls are issued in the same turn).
 */

/** One key's fence, shared by the tickets that hold it. @internal */
export interface KeyFence {
  refs: number;
  generation: number;
  /**
   * The key's shared read in flight (`shared-reads.ts`), kept here rather than in a second map:
   * that read holds a ticket on this fence until it leaves, so the fence outlives it, and an L1
   * miss costs one map entry instead of two. Only `SharedReads` reads or writes it.
   */
  sharedRead: unknown;
}

/**
 * A reservation taken before an operation's first await; see {@link KeyFences}. Any object with
 * these fields is one: a caller that keeps per-operation state anyway may be its own ticket (its
 * `fence` from {@link KeyFences.enter}, its `generation` read from the fence at that moment),
 * which saves a ticket object per operation (the shared read does, on every L1 miss).
 * @internal
 */
export interface FenceTicket<K> {
  readonly key: K;
  readonly fence: KeyFence;
  readonly generation: number;
}

/** The fences of one cache. @internal */
export class KeyFences<K> {
  readonly #fences = new Map<K, KeyFence>();
  #closed = false;

  acquire(key: K): FenceTicket<K> {
    const fence = this.enter(key);
    return { key, fence, generation: fence.generation };
  }

  /**
   * Holds `key`'s fence for a ticket the caller builds itself: `{ key, fence, generation:
   * fence.generation }`, read at once (before any await). Released like any ticket.
   */
  enter(key: K): KeyFence {
    let fence = this.#fences.get(key);
    if (fence === undefined) {
      fence = { refs: 0, generation: 0, sharedRead: undefined };
      this.#fences.set(key, fence);
    }
    fence.refs++;
    return fence;
  }

  release(ticket: FenceTicket<K>): void {
    if (--ticket.fence.refs === 0 && this.#fences.get(ticket.key) === ticket.fence)
      this.#fences.delete(ticket.key);
  }

  /** The key's fence, when some ticket holds one. */
  peek(key: K): KeyFence | undefined {
    return this.#fences.get(key);
  }

  /** True when nothing rewrote the key since the ticket was taken, and the cache is open. */
  isCurrent(ticket: FenceTicket<K>): boolean {
    return !this.#closed && ticket.fence.generation === ticket.generation;
  }

  /** The key was rewritten: tickets taken before now may no longer write it. */
  bump(key: K): void {
    const fence = this.#fences.get(key);
    if (fence !== undefined) fence.generation++;
  }

  /** Every key was rewritten (clear, tag operation, bus gap). */
  bumpAll(): void {
    for (const fence of this.#fences.values()) fence.generation++;
  }

  /** After close, no ticket is current: nothing writes into closed tiers. */
  close(): void {
    this.#closed = true;
  }
}
