/**
 * Key logging for an engine: the shim queues a session's NSS key-log lines
 * as OpenSSL derives its secrets; {@link KeyLog.drain} hands them to the
 * user's function after each handshake step. OpenSSL never calls into
 * JavaScript.
 *
 * @module
 */
import { lastError, readText, shim } from "../../ffi/mod.ts";
import type { Handle } from "../../ffi/mod.ts";
import { TlsError } from "../errors.ts";

/** Receives one NSS key-log line (`CLIENT_RANDOM …`, `SERVER_TRAFFIC_SECRET_0 …`), without its newline. */
export type KeyLogSink = (line: string) => void;

/**
 * One session's key log.
 *
 * @example
 * ```ts
 * const log = new KeyLog(sessionHandle, contextHandle, (line) => lines.push(line));
 * shim.jsec_handshake(sessionHandle);
 * log.drain();
 * ```
 */
export class KeyLog {
  readonly #session: Handle;
  readonly #sink: KeyLogSink;

  /** Asks the shim to queue the session's lines for `sink`. */
  constructor(session: Handle, context: Handle, sink: KeyLogSink) {
    if (typeof sink !== "function") {
      throw new TlsError("INVALID_OPTION", "`keyLog` must be a function (line: string) => void");
    }
    if (shim.jsec_keylog_start(session, context) < 0) throw new TlsError("INTERNAL", lastError());
    this.#session = session;
    this.#sink = sink;
  }

  /** Logs the lines of a context the session moves to as well (a server's choice by ClientHello). */
  follow(context: Handle): void {
    if (shim.jsec_keylog_start(this.#session, context) < 0) throw new TlsError("INTERNAL", lastError());
  }

  /** Hands every queued line to the sink. A sink that throws loses its line, not the connection. */
  drain(): void {
    const text = readText((buf, cap) => shim.jsec_keylog_take(this.#session, buf, cap));
    if (text === "") return;
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        this.#sink(line);
      } catch {
        // The key log is a debugging aid: it must not break the connection.
      }
    }
  }
}
