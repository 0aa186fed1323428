import { createConnection } from "node:net";

/** A decoded RESP2 reply. Errors come back as {@link RespError} values rather than rejections. */
export type RespReply = string | number | null | RespError | RespReply[];

/** An error reply (`-ERR ...`) from the server. */
export class RespError {
  constructor(readonly message: string) {}
}

type Parsed = [value: RespReply, next: number] | undefined;

function parseReply(buf: Buffer, start: number): Parsed {
  const lineEnd = buf.indexOf("\r\n", start);
  if (lineEnd === -1) return undefined;
  const type = String.fromCharCode(buf[start]!);
  const line = buf.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return [line, next];
    case "-":
      return [new RespError(line), next];
    case ":":
      return [Number(line), next];
    case "$": {
      const length = Number(line);
      if (length < 0) return [null, next];
      if (buf.length < next + length + 2) return undefined;
      return [buf.toString("utf8", next, next + length), next + length + 2];
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return [null, next];
      const items: RespReply[] = [];
      let offset = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, offset);
        if (item === undefined) return undefined;
        items.push(item[0]);
        offset = item[1];
      }
      return [items, offset];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function encodeCommand(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  return out;
}

/**
 * Sends one command on a fresh connection and resolves with its reply. The harness uses it to
 * probe servers without depending on a Redis client library.
 *
 * Rejects on a connection error or when no full reply arrives within `timeoutMs`.
 */
export function sendCommand(
  host: string,
  port: number,
  args: readonly string[],
  timeoutMs = 1_000,
): Promise<RespReply> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply to ${args[0] ?? "command"} from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (error: Error | undefined, reply?: RespReply): void => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(reply ?? null);
    };
    socket.once("connect", () => socket.write(encodeCommand(args)));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      try {
        const parsed = parseReply(received, 0);
        if (parsed) finish(undefined, parsed[0]);
      } catch (error) {
        finish(error as Error);
      }
    });
    socket.once("error", (error) => finish(error));
    socket.once("close", () => finish(new Error(`connection to ${host}:${port} closed before a reply`)));
  });
}
