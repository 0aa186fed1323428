/**
 * Event emission and trace hooks: how every part of a cache reports what happened.
 *
 * Owns the listener list (shared by reference with the `Cache` facade, whose fast paths test it
 * directly), the `node:diagnostics_channel` publication and the composition of instrumentation
 * trace hooks. It must never throw into the cache: a listener or hook that throws is ignored, and
 * nothing is built (no event object, no key hash) unless someone listens.
 */
import { CacheEventRecord, cacheEventChannel, hashKey } from "./cache-event.js";
import type { CacheEventListener, CacheEventType, CacheOperationName } from "@cachet/tier";
import type { CacheInstrumentation } from "./instrumentation.js";
import type { TracedCall } from "@cachet/tier";

/** Extra fields some events carry. */
export interface EventDetails {
  readonly durationMs?: number;
  readonly error?: unknown;
  readonly background?: boolean;
  readonly reason?: string;
}

/** Wraps one loader run or tier call for the instrumentations that asked for it. */
export type TraceHook = <T>(call: TracedCall, run: () => Promise<T>) => Promise<T>;

/** What a trace hook is told about the call it wraps. */
export interface TraceSubject<K> {
  readonly key: K | undefined;
  readonly operation: CacheOperationName;
  readonly tier?: string | undefined;
  readonly background: boolean;
}

/** Emits one cache's events to its listeners and to the diagnostics channel. @internal */
export class CacheEmitter<K> {
  readonly #cache: string;
  /** The same array the facade holds: `on()` and instrumentations add to it in place. */
  readonly listeners: CacheEventListener[];
  readonly #eventKeys: boolean;

  constructor(options: { cache: string; listeners: CacheEventListener[]; eventKeys: boolean }) {
    this.#cache = options.cache;
    this.listeners = options.listeners;
    this.#eventKeys = options.eventKeys;
  }

  /** True when an event would reach anyone; callers test it before building an event's arguments. */
  observed(): boolean {
    return this.listeners.length !== 0 || cacheEventChannel.hasSubscribers;
  }

  emit(
    type: CacheEventType,
    operation: CacheOperationName,
    key: K | undefined,
    tier: string | undefined,
    details?: EventDetails,
  ): void {
    if (!this.observed()) return;
    const event = new CacheEventRecord(type, this.#cache, tier, operation, key);
    if (this.#eventKeys && key !== undefined) event.key = key;
    if (details !== undefined) {
      if (details.durationMs !== undefined) event.durationMs = details.durationMs;
      if (details.error !== undefined) event.error = details.error;
      if (details.background !== undefined) event.background = details.background;
      if (details.reason !== undefined) event.reason = details.reason;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A listener must not break the cache.
      }
    }
    if (cacheEventChannel.hasSubscribers) cacheEventChannel.publish(event);
  }

  /** The description of a call handed to trace hooks (the raw key only goes to hooks, never to events). */
  traced(subject: TraceSubject<K>): TracedCall {
    const call: { -readonly [P in keyof TracedCall]: TracedCall[P] } = {
      cache: this.#cache,
      operation: subject.operation,
      keyHash: subject.key === undefined ? undefined : hashKey(subject.key),
      background: subject.background,
    };
    if (subject.key !== undefined) call.key = subject.key;
    if (subject.tier !== undefined) call.tier = subject.tier;
    return call;
  }
}

/** Nests several instrumentations' trace hooks into one (the first is outermost). */
export function composeTrace(
  instrumentations: readonly CacheInstrumentation[],
  hook: "traceLoader" | "traceTier",
): TraceHook | undefined {
  const hooks = instrumentations.filter((i) => typeof i[hook] === "function");
  if (hooks.length === 0) return undefined;
  return <T>(call: TracedCall, run: () => Promise<T>): Promise<T> => {
    let next = run;
    for (let i = hooks.length - 1; i >= 0; i--) {
      const instrumentation = hooks[i]!;
      const inner = next;
      next = () => {
        let ran = false;
        const once = () => {
          ran = true;
          return inner();
        };
        try {
          return instrumentation[hook]!(call, once);
        } catch (error) {
          // A broken hook must not lose the call.
          return ran ? Promise.reject(error) : inner();
        }
      };
    }
    return next();
  };
}
