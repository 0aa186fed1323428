import type { Cache } from "@cachet/core";
import type { CacheBus, CacheBusMessage } from "@cachet/core";
import type { StoredEntry, StoredTagTimes } from "./stored-entry.js";

/** How long this process trusts what it knows about a tag before it reads the shared record again. */
const RECHECK_MS = 1_000;
/** Tag records outlive any entry they could concern (entries live at most `maxTtl`). */
const RECORD_TTL_MS = 400 * 24 * 3600 * 1000;
const KEY_PREFIX = "next-tag:";

interface TagState {
  stale: number;
  expired: number;
  checkedAt: number;
}

/** What a set of tags says about an entry made at a given time. */
export type TagVerdict = "fresh" | "stale" | "expired";

/**
 * When each tag was last made stale or expired, for the checks cachet's own tags cannot make:
 * Next's *soft* tags (a page's implicit `_N_T_/path` tags, passed at read time and never stored with
 * an entry), `getExpiration` of the `"use cache"` contract, and the delayed hard expiry of
 * `revalidateTag(tag, profile)`. Cachet's tags still do the main work: entries carry their tags and
 * `invalidateTags` / `expireTags` reach every replica.
 *
 * The times live in this process (kept current by the bus messages cachet already sends for tag
 * operations, seen through {@link TagLedger.observe}) and in the shared tiers as one small entry per
 * tag, for replicas that start later or missed messages. A tag this process has not heard of is
 * read from the shared tier at most once per second.
 *
 * Never throws: a shared tier that fails leaves the local knowledge as it is.
 */
export class TagLedger {
  readonly #now: () => number;
  readonly #tags = new Map<string, TagState>();
  #cache: Cache<string, StoredEntry> | undefined;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** Keeps the shared records in `cache` (set once the cache is built: its bus is wrapped first). */
  attach(cache: Cache<string, StoredEntry>): void {
    this.#cache = cache;
  }

  /**
   * Wraps `bus` so that the ledger learns about other replicas' tag operations from the messages
   * cachet sends anyway, and re-reads everything after a reconnect that may have lost some.
   */
  observe(bus: CacheBus): CacheBus {
    const onMessage = (message: CacheBusMessage): void => {
      if (message.type !== "invalidate-tags" && message.type !== "expire-tags") return;
      // As cachet does: the receiver's own clock when it is later, since an entry this process
      // stamped before now may predate the revalidation on the sender's clock.
      const at = Math.max(message.at, this.#now());
      if (message.type === "invalidate-tags") this.#apply(message.tags, 0, at);
      else this.#apply(message.tags, at, 0);
      // The message carries no delayed expiry (a profile's `expire`): the next check reads the record.
      for (const tag of message.tags) this.#tags.get(tag)!.checkedAt = 0;
    };
    const observed: CacheBus = {
      instanceId: bus.instanceId,
      publish: (message) => bus.publish(message),
      subscribe: (handler) =>
        bus.subscribe((message) => {
          onMessage(message);
          handler(message);
        }),
    };
    if (bus.onReconnect !== undefined) {
      const onReconnect = bus.onReconnect.bind(bus);
      observed.onReconnect = (handler) =>
        onReconnect((info) => {
          if (info.mayHaveMissedMessages) for (const state of this.#tags.values()) state.checkedAt = 0;
          handler(info);
        });
    }
    if (bus.close !== undefined) {
      const close = bus.close.bind(bus);
      observed.close = () => close();
    }
    return observed;
  }

  /**
   * Records a revalidation of `tags` now: expired at once (`expireIn` 0), or stale now and expired
   * `expireIn` ms later (never, for `undefined`). Resolves once the shared records are written or
   * have failed.
   */
  async record(tags: readonly string[], expireIn: number | undefined): Promise<void> {
    const now = this.#now();
    if (expireIn === 0) this.#apply(tags, 0, now);
    else this.#apply(tags, now, expireIn === undefined ? 0 : now + expireIn);
    const cache = this.#cache;
    if (cache === undefined) return;
    await Promise.all(
      tags.map(async (tag) => {
        const state = this.#tags.get(tag)!;
        const record: StoredTagTimes = {
          kind: "tag-times",
          stale: state.stale,
          expired: state.expired,
          size: 64,
        };
        try {
          await cache.insert(KEY_PREFIX + tag, record, { ttl: RECORD_TTL_MS });
        } catch {
          // Fail-safe: this process and the bus still know; a replica starting later may not.
        }
      }),
    );
  }

  /** Whether `tags` make an entry created at `createdAt` stale, expired, or neither. */
  async verdict(tags: readonly string[], createdAt: number): Promise<TagVerdict> {
    if (tags.length === 0) return "fresh";
    await this.#refresh(tags);
    const now = this.#now();
    let verdict: TagVerdict = "fresh";
    for (const tag of tags) {
      const state = this.#tags.get(tag);
      if (state === undefined) continue;
      // At or after: an entry stamped in the millisecond of a revalidation may predate it.
      if (state.expired >= createdAt && state.expired <= now && state.expired !== 0) return "expired";
      if (state.stale >= createdAt && state.stale !== 0) verdict = "stale";
    }
    return verdict;
  }

  /** The latest time one of `tags` expired (0 for never), as `getExpiration` of `"use cache"` wants. */
  async expiration(tags: readonly string[]): Promise<number> {
    if (tags.length === 0) return 0;
    await this.#refresh(tags);
    const now = this.#now();
    let latest = 0;
    for (const tag of tags) {
      const expired = this.#tags.get(tag)?.expired ?? 0;
      if (expired <= now && expired > latest) latest = expired;
    }
    return latest;
  }

  #apply(tags: readonly string[], stale: number, expired: number): void {
    for (const tag of tags) {
      const state = this.#tags.get(tag);
      if (state === undefined) {
        this.#tags.set(tag, { stale, expired, checkedAt: 0 });
      } else {
        state.stale = Math.max(state.stale, stale);
        // The latest revalidation decides the expiry, as in Next's own tag manifest (a delayed
        // expiry is replaced by an immediate one and the other way round).
        if (expired !== 0) state.expired = expired;
      }
    }
  }

  async #refresh(tags: readonly string[]): Promise<void> {
    const now = this.#now();
    const due = tags.filter((tag) => {
      const state = this.#tags.get(tag);
      return state === undefined || now - state.checkedAt > RECHECK_MS;
    });
    if (due.length === 0) return;
    let found: ({ value: StoredEntry } | undefined)[] = [];
    try {
      if (this.#cache !== undefined) found = await this.#cache.getMany(due.map((tag) => KEY_PREFIX + tag));
    } catch {
      found = [];
    }
    due.forEach((tag, i) => {
      const value = found[i]?.value;
      let state = this.#tags.get(tag);
      if (state === undefined) {
        state = { stale: 0, expired: 0, checkedAt: 0 };
        this.#tags.set(tag, state);
      }
      if (value?.kind === "tag-times") {
        state.stale = Math.max(state.stale, value.stale);
        state.expired = Math.max(state.expired, value.expired);
      }
      state.checkedAt = now;
    });
  }
}
