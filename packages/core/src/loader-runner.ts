/**
 * The loader runner: calls a user's loader once and turns whatever it does (returns, throws,
 * rejects, reports `ctx.fail`, hangs past the hard timeout, ignores an abort) into one
 * {@link LoaderOutcome}.
 *
 * Owns the loader's timers (soft and hard timeout) and the abort wiring, and clears both timers
 * whatever happens. It must never settle a flight, write a tier or emit an event: deciding what an
 * outcome means (fail-safe, fallback, write-back) is the load coordinator's job.
 */
import { CacheError } from "@cachet/tier";
import type { Clock, Milliseconds } from "@cachet/tier";
import type { TraceHook } from "./cache-emitter.js";
import type { TracedCall } from "@cachet/tier";
import { isLoaderFailure } from "./loader.js";

/** What one loader run came to. */
export type LoaderOutcome =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: unknown; readonly timedOut: boolean };

/** How to run one loader. */
export interface LoaderRun {
  readonly clock: Clock;
  /** Aborted by the hard timeout; its abort (close, every caller gone) ends the wait at once. */
  readonly controller: AbortController;
  readonly hardTimeout: Milliseconds | undefined;
  /** Runs `onElapse` after this long unless the loader finished first (the soft timeout). */
  readonly soft?: { readonly after: Milliseconds; readonly onElapse: () => void } | undefined;
  /** The instrumentation hook that wraps the run, with what it is told. */
  readonly trace?: { readonly hook: TraceHook; readonly call: TracedCall } | undefined;
}

/** Runs `call` (which invokes the loader) under `run`'s timeouts; never rejects. @internal */
export async function runLoader(call: () => unknown, run: LoaderRun): Promise<LoaderOutcome> {
  const clock = run.clock;
  let softTimer: unknown;
  let hardTimer: unknown;
  if (run.soft !== undefined) {
    const soft = run.soft;
    softTimer = clock.setTimeout(() => {
      softTimer = undefined;
      soft.onElapse();
    }, soft.after);
  }
  let outcome: LoaderOutcome;
  try {
    const trace = run.trace;
    const result = trace ? trace.hook(trace.call, () => Promise.resolve(call())) : call();
    if (isPromiseLike(result)) {
      const hard = run.hardTimeout;
      const signal = run.controller.signal;
      outcome = await new Promise<LoaderOutcome>((resolve) => {
        // A loader that ignores its signal must not keep close() or the callers waiting.
        const onAbort = () => resolve({ ok: false, error: signal.reason as unknown, timedOut: false });
        if (signal.aborted) onAbort();
        else signal.addEventListener("abort", onAbort, { once: true });
        if (hard !== undefined) {
          hardTimer = clock.setTimeout(() => {
            hardTimer = undefined;
            const error = new CacheError(
              "TIMEOUT",
              `the loader did not finish within the hard timeout (${hard} ms)`,
            );
            resolve({ ok: false, error, timedOut: true });
            run.controller.abort(error);
          }, hard);
        }
        result.then(
          (value) => {
            signal.removeEventListener("abort", onAbort);
            resolve({ ok: true, value });
          },
          (error: unknown) => {
            signal.removeEventListener("abort", onAbort);
            resolve({ ok: false, error, timedOut: false });
          },
        );
      });
    } else {
      outcome = { ok: true, value: result };
    }
  } catch (error) {
    outcome = { ok: false, error, timedOut: false };
  } finally {
    if (softTimer !== undefined) clock.clearTimeout(softTimer);
    if (hardTimer !== undefined) clock.clearTimeout(hardTimer);
  }
  if (outcome.ok && isLoaderFailure(outcome.value)) {
    outcome = { ok: false, error: outcome.value.reason, timedOut: false };
  }
  return outcome;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function"
  );
}
