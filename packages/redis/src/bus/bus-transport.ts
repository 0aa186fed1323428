/** What a transport tells the bus that owns it. */
export interface TransportHost {
  /** A raw message arrived (any origin; the bus filters its own). */
  deliver(payload: string): void;
  /** The receiving side is back after a loss. */
  reconnected(mayHaveMissedMessages: boolean): void;
  /** A background failure worth reporting; the transport keeps going. */
  error(message: string, cause: unknown): void;
}

/** One way of moving bus messages through Redis (pub/sub or a stream). */
export interface BusTransport {
  /** Starts receiving; resolves once messages published from now on will arrive. */
  start(): Promise<void>;
  /** Sends one encoded message on the publishing connection; rejects when it could not. */
  send(payload: string): Promise<void>;
  /** Stops receiving and closes the connections the transport opened. */
  close(): Promise<void>;
}
