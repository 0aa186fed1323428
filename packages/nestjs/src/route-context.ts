/**
 * The parts of an HTTP request the decorators hand to key and tag functions. Express and Fastify
 * requests both have these fields; `params` and `query` are as the platform parsed them.
 */
export interface CachedRequest {
  readonly method: string;
  readonly url: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: unknown;
}

/** What a tag function sees: the request and the handler's result. */
export interface RouteResult<R = unknown> {
  readonly request: CachedRequest;
  readonly result: R;
}

/** Tags fixed on the decorator, or computed from the request and the handler's result. */
export type TagsOption<R = unknown> = readonly string[] | ((route: RouteResult<R>) => readonly string[]);

/** @internal */
export function resolveTags<R>(tags: TagsOption<R> | undefined, route: RouteResult<R>): readonly string[] {
  if (tags === undefined) return [];
  return typeof tags === "function" ? tags(route) : tags;
}

/**
 * JSON with object keys sorted at every level, so `?a=1&b=2` and `?b=2&a=1` give one key.
 * @internal
 */
export function stableStringify(value: unknown): string {
  if (value === undefined) return "null";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stableStringify(record[k])}`).join(",")}}`;
}
