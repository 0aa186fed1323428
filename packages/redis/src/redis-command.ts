/**
 * One Redis command in flight under the tier's `commandTimeout`: the promise the caller gets, its
 * deadline, and the mapping of the reply (decoding) before the caller sees it.
 *
 * Why an object rather than closures: this runs for every Redis read. A `new Promise` with an
 * executor closure, a deadline entry, and closures capturing the command's key and mapping were
 * most of the tier's own bytes per read (`packages/bench/PROFILE.md`). Here the promise's executor
 * is one module-level function, the command is its own deadline entry, and the mapping and its
 * argument (the Redis key) are fields, so a read allocates the promise, this object and the two
 * reactions on the adapter's promise. With a receiver (`RedisTier.getInto`) there is no promise
 * at all: the outcome goes to the receiver, once (a reply after the timeout is dropped).
 *
 * Invariant: the caller's promise (or receiver) settles exactly once, with the mapped reply, the wrapped error,
 * or the sweeper's `TIMEOUT`, whichever comes first (a promise ignores later settlements), and the
 * command leaves the sweeper when the adapter answers.
 */
import type { Deadlined, DeadlineSweeper } from "./deadline-sweeper.js";

let capturedResolve: ((value: unknown) => void) | undefined;
let capturedReject: ((error: unknown) => void) | undefined;

/** The promise executor of every command: hands its settle functions to the constructor below. */
function capture(resolve: (value: unknown) => void, reject: (error: unknown) => void): void {
  capturedResolve = resolve;
  capturedReject = reject;
}

/** Maps a reply (may throw: the caller gets the error wrapped); `arg` is the command's own. */
export type ReplyMap<T, R, A> = (value: T, arg: A) => R;

/** Where a command without a promise reports (`RedisTier.getInto`'s receiver): one call, once. */
export interface ReplyReceiver<R> {
  answered(value: R): void;
  failed(error: unknown): void;
}

/** @internal */
export class RedisCommand<T, R, A> implements Deadlined {
  deadline = 0;
  previousDeadlined: Deadlined | undefined = undefined;
  nextDeadlined: Deadlined | undefined = undefined;
  tracked = false;
  readonly operation: string;
  /** The caller's promise; `undefined` for a command that reports to a receiver instead. */
  readonly promise: Promise<R> | undefined;
  readonly #resolve: ((value: unknown) => void) | undefined;
  readonly #reject: ((error: unknown) => void) | undefined;
  readonly #receiver: ReplyReceiver<R> | undefined;
  /** For a receiver: it was told (a promise ignores later settlements by itself). */
  #told = false;
  readonly #map: ReplyMap<T, R, A> | undefined;
  readonly #arg: A;
  readonly #wrap: (operation: string, error: unknown) => Error;
  readonly #deadlines: DeadlineSweeper;

  constructor(
    operation: string,
    map: ReplyMap<T, R, A> | undefined,
    arg: A,
    wrap: (operation: string, error: unknown) => Error,
    deadlines: DeadlineSweeper,
    receiver?: ReplyReceiver<R>,
  ) {
    this.operation = operation;
    this.#receiver = receiver;
    if (receiver === undefined) {
      this.promise = new Promise<R>(
        capture as (resolve: (value: R) => void, reject: (error: unknown) => void) => void,
      );
      this.#resolve = capturedResolve!;
      this.#reject = capturedReject!;
      capturedResolve = capturedReject = undefined;
    }
    this.#map = map;
    this.#arg = arg;
    this.#wrap = wrap;
    this.#deadlines = deadlines;
    deadlines.add(this);
  }

  /** The adapter answered. */
  settle(value: T): void {
    this.#deadlines.delete(this);
    const map = this.#map;
    let result: R;
    try {
      result = map === undefined ? (value as unknown as R) : map(value, this.#arg);
    } catch (error) {
      this.#failWith(this.#wrap(this.operation, error));
      return;
    }
    const receiver = this.#receiver;
    if (receiver === undefined) this.#resolve!(result);
    else if (!this.#told) {
      this.#told = true;
      receiver.answered(result);
    }
  }

  /** The adapter failed (or the command could not start). */
  fail(error: unknown): void {
    this.#deadlines.delete(this);
    this.#failWith(this.#wrap(this.operation, error));
  }

  /** From the sweeper: the command outlived `commandTimeout`. */
  expire(error: Error): void {
    this.#failWith(error);
  }

  #failWith(error: unknown): void {
    const receiver = this.#receiver;
    if (receiver === undefined) this.#reject!(error);
    else if (!this.#told) {
      this.#told = true;
      receiver.failed(error);
    }
  }
}
