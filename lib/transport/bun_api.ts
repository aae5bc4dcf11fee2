/**
 * The slice of Bun's socket API we use, typed here so that the code
 * type-checks under Deno too (where `Bun` does not exist).
 *
 * @module
 */

/** A Bun TCP or Unix socket (`Bun.connect` / `Bun.listen`). */
export interface BunSocket<Data = unknown> {
  data: Data;
  write(bytes: Uint8Array): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  ref(): void;
  unref(): void;
  setNoDelay(enable?: boolean): boolean;
  setKeepAlive(enable?: boolean, initialDelay?: number): boolean;
  reload(handlers: { socket: BunHandlers<Data> }): void;
  readonly readyState: number | string;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  /** The `Bun.listen` listener that accepted this socket; undefined for a `Bun.connect` one. */
  readonly listener?: unknown;
}

/** Bun's per-socket callbacks. */
export interface BunHandlers<Data = unknown> {
  open?(socket: BunSocket<Data>): void;
  data?(socket: BunSocket<Data>, chunk: Uint8Array): void;
  drain?(socket: BunSocket<Data>): void;
  end?(socket: BunSocket<Data>): void;
  close?(socket: BunSocket<Data>, error?: Error): void;
  error?(socket: BunSocket<Data>, error: Error): void;
  connectError?(socket: BunSocket<Data>, error: Error): void;
  timeout?(socket: BunSocket<Data>): void;
}

/** A Bun TCP listener. */
export interface BunListener {
  readonly hostname: string;
  readonly port: number;
  stop(closeActiveConnections?: boolean): void;
  ref(): void;
  unref(): void;
}

/** The `Bun` global, as far as we use it. */
export interface BunGlobal {
  connect<Data>(options: {
    hostname?: string;
    port?: number;
    unix?: string;
    data?: Data;
    socket: BunHandlers<Data>;
  }): Promise<BunSocket<Data>>;
  listen<Data>(options: {
    hostname?: string;
    port?: number;
    unix?: string;
    reusePort?: boolean;
    socket: BunHandlers<Data>;
  }): BunListener;
}

/** The `Bun` global; only call this when running under Bun. */
export function bun(): BunGlobal {
  return (globalThis as unknown as { Bun: BunGlobal }).Bun;
}
