/**
 * Something the tier reports without failing the call, passed to the `onEvent` option.
 *
 * - `corrupt-entry`: bytes under the tier's prefix could not be read (another writer, an envelope
 *   version this code does not know, a different codec, truncated data). The read is a miss; the
 *   key is left alone, since another writer may own it.
 * - `client-error`: the client the tier owns reported an error (e.g. connection refused while
 *   Redis is down). Calls made meanwhile reject on their own; this is for logs.
 * - `tracking-error`: a `tracking` connection could not be opened or set up (it is retried), or the
 *   server refused `CLIENT TRACKING` (not retried: the cache above then keeps no L1 copies).
 *
 * @experimental The set of events may grow before 1.0; switch on `type` with a default branch.
 */
export type RedisTierEvent =
  | {
      readonly type: "corrupt-entry";
      /** The tier's `name`. */
      readonly tier: string;
      /** The Redis key holding the unreadable bytes. */
      readonly redisKey: string;
      /** Why it could not be read. */
      readonly reason: string;
      /** The underlying error, when there is one. */
      readonly cause?: unknown;
    }
  | {
      readonly type: "client-error";
      readonly tier: string;
      readonly error: Error;
    }
  | {
      readonly type: "tracking-error";
      readonly tier: string;
      readonly message: string;
      readonly cause?: unknown;
    };
