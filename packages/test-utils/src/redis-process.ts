import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeTempDir, trackChild, trackTempDir } from "./process-registry.js";
import { RespError, sendCommand } from "./resp.js";

const OUTPUT_LIMIT = 8_192;
const POLL_INTERVAL_MS = 25;

/** Resolves after `ms`; used only between probes of a process that is starting up. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One `redis-server` child on a fixed port with its own temp dir. It can be stopped, killed,
 * frozen and started again on the same port with the same arguments.
 */
export class RedisProcess {
  readonly host = "127.0.0.1";
  readonly port: number;
  readonly dir: string;
  readonly #binary: string;
  readonly #extraArgs: readonly string[];
  readonly #startTimeout: number;
  #child: ChildProcess | undefined;
  #output = "";
  #paused = false;

  constructor(
    binary: string,
    port: number,
    extraArgs: readonly string[],
    startTimeout: number,
    dirPrefix = "cachet-redis-",
  ) {
    if (port === 6379) throw new Error("the harness never starts a server on 6379 (the shared server)");
    this.#binary = binary;
    this.port = port;
    this.#extraArgs = extraArgs;
    this.#startTimeout = startTimeout;
    this.dir = mkdtempSync(join(tmpdir(), dirPrefix));
    trackTempDir(this.dir);
  }

  /** The running child's pid, or `undefined` when it is not running. */
  get pid(): number | undefined {
    return this.isRunning ? this.#child?.pid : undefined;
  }

  get isRunning(): boolean {
    const child = this.#child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Spawns the server and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.isRunning) throw new Error(`redis-server on port ${this.port} is already running`);
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      this.dir,
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
      ...this.#extraArgs,
    ];
    this.#output = "";
    this.#paused = false;
    const child = spawn(this.#binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    this.#child = child;
    trackChild(child);
    const collect = (chunk: Buffer): void => {
      this.#output = (this.#output + chunk.toString("utf8")).slice(-OUTPUT_LIMIT);
    };
    child.stdout?.on("data", collect);
    child.stderr?.on("data", collect);
    const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
    await this.#waitForPing(child, spawnError);
  }

  async #waitForPing(child: ChildProcess, spawnError: Promise<Error>): Promise<void> {
    let failure: Error | undefined;
    void spawnError.then((error) => (failure = error));
    const deadline = Date.now() + this.#startTimeout;
    let lastProblem = "no reply yet";
    while (Date.now() < deadline) {
      if (failure) throw new Error(`could not spawn ${this.#binary}: ${failure.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}) while starting:\n${this.#output}`,
        );
      }
      try {
        const reply = await sendCommand(this.host, this.port, ["PING"], 250);
        if (reply === "PONG") return;
        lastProblem = reply instanceof RespError ? reply.message : JSON.stringify(reply);
      } catch (error) {
        lastProblem = (error as Error).message;
      }
      await pause(POLL_INTERVAL_MS);
    }
    await this.kill();
    throw new Error(
      `redis-server on port ${this.port} did not answer PING within ${this.#startTimeout} ms (last: ${lastProblem}):\n${this.#output}`,
    );
  }

  #exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      child.once("exit", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops the server gracefully (SIGTERM, then SIGKILL after 5 s). */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || !this.isRunning) return;
    if (this.#paused) this.resume();
    child.kill("SIGTERM");
    if (!(await this.#exited(child, 5_000))) {
      child.kill("SIGKILL");
      await this.#exited(child, 5_000);
    }
  }

  /** Kills the server with SIGKILL, as a crash would, and waits for it to be gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.isRunning) return;
    child.kill("SIGKILL");
    await this.#exited(child, 5_000);
    this.#paused = false;
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void {
    if (!this.isRunning) throw new Error(`redis-server on port ${this.port} is not running`);
    this.#child?.kill("SIGSTOP");
    this.#paused = true;
  }

  /** Thaws a server frozen by {@link RedisProcess.pause} (SIGCONT). */
  resume(): void {
    if (!this.isRunning) throw new Error(`redis-server on port ${this.port} is not running`);
    this.#child?.kill("SIGCONT");
    this.#paused = false;
  }

  /** Stops the server (if running) and removes its temp dir. */
  async dispose(): Promise<void> {
    await this.stop();
    removeTempDir(this.dir);
  }
}
