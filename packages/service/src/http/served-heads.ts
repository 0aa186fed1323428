/**
 * The header fields of a stored response when it is sent whole (not a 304, not a range), built once
 * per stored value instead of once per request: the stored fields with `Content-Length` set to the
 * served length, then `Age` and the cache-status field. The list for one value is kept and handed
 * out again while its age (in whole seconds) and cache status stay the same, so a run of hits on one
 * entry sends one frozen list, and an adapter may cache what it derives from it by identity.
 *
 * Owns: that list and when it is reused. Must never: hand out a list built for another stored value
 * (lists are keyed by the value object itself, weakly, so they go when the value goes), or one whose
 * `Age` or cache status differs from the request's.
 */
import type { CacheStatus } from "./adapter-contract.js";
import type { HeaderPairs, StoredResponse } from "./stored-response.js";

interface Prepared {
  /** The stored fields without `Content-Length`, then `Content-Length` (unless the status is 204). */
  readonly fields: HeaderPairs;
  /** The last list handed out, its age in seconds and its cache status. */
  list: HeaderPairs;
  ageSeconds: number;
  status: CacheStatus;
}

/** The whole-response header lists of one engine (one cache-status field name). */
export class ServedHeads {
  readonly #statusHeader: string | undefined;
  readonly #prepared = new WeakMap<StoredResponse, Prepared>();

  constructor(statusHeader: string | undefined) {
    this.#statusHeader = statusHeader;
  }

  /** The fields to send `stored` whole with, at `age` ms, as a frozen list. */
  of(stored: StoredResponse, age: number, status: CacheStatus): HeaderPairs {
    const ageSeconds = Math.floor(Math.max(0, age) / 1000);
    const prepared = this.#prepared.get(stored);
    if (prepared === undefined) {
      const fields: (readonly [string, string])[] = [];
      for (const pair of stored.headers) if (pair[0] !== "content-length") fields.push(pair);
      if (stored.status !== 204) fields.push(["content-length", String(stored.bodyLength)]);
      const list = this.#build(fields, ageSeconds, status);
      this.#prepared.set(stored, { fields, list, ageSeconds, status });
      return list;
    }
    if (prepared.ageSeconds !== ageSeconds || prepared.status !== status) {
      prepared.list = this.#build(prepared.fields, ageSeconds, status);
      prepared.ageSeconds = ageSeconds;
      prepared.status = status;
    }
    return prepared.list;
  }

  #build(fields: HeaderPairs, ageSeconds: number, status: CacheStatus): HeaderPairs {
    const list: (readonly [string, string])[] = [...fields, ["age", String(ageSeconds)]];
    if (this.#statusHeader !== undefined) list.push([this.#statusHeader, status]);
    return Object.freeze(list);
  }
}
