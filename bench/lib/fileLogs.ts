/**
 * What the children of section 4 (FileStore's log) share, on both lines: their inputs and outputs, and the
 * `prepare` step, which writes the logs with the log format's own encoder (no Effect: the format is the core's,
 * the same for both lines' FileStores).
 */
import { closeSync, openSync, writeSync } from "node:fs"
import * as Codec from "../../src/core/codec.js"
import * as Log from "../../src/core/fileLog.js"
import { DAY_MS, makeToken, prng, sessionValues } from "./workload.js"

export type FileInput =
  | { readonly step: "prepare"; readonly sessions: number; readonly path: string; readonly churnPath: string }
  | { readonly step: "open"; readonly path: string }
  | { readonly step: "compact"; readonly path: string }

export interface PrepareOutput {
  readonly bytes: number
  readonly churnBytes: number
}

export interface OpenOutput {
  readonly openMs: number
  readonly sessions: number
  readonly logBytes: number
  readonly rssAfter: number
}

export interface CompactOutput {
  readonly sessions: number
  readonly logBefore: number
  readonly logAfter: number
  /** What the live sessions hold: token plus data bytes, no framing. */
  readonly liveData: number
  readonly compactMs: number
}

/** Writes records through a 4 MiB buffer. */
class LogWriter {
  private readonly fd: number
  private readonly buffer = Buffer.allocUnsafe(4 * 1024 * 1024)
  private used = 0
  bytes = 0
  /** The log's record marker and checksum key (each log has its own). */
  readonly secret = Log.LogSecret.random()

  constructor(path: string) {
    this.fd = openSync(path, "w")
    this.push(Log.encodeHeader(this.secret))
  }

  push(record: Uint8Array): void {
    if (this.used + record.length > this.buffer.length) this.flush()
    this.buffer.set(record, this.used)
    this.used += record.length
    this.bytes += record.length
  }

  put(token: Buffer, expiresAt: number, data: Uint8Array): void {
    const size = Log.recordSize(token.length, data.length)
    if (this.used + size > this.buffer.length) this.flush()
    this.used = Log.writePutInto(this.secret, this.buffer, this.used, token, expiresAt, data)
    this.bytes += size
  }

  flush(): void {
    writeSync(this.fd, this.buffer, 0, this.used)
    this.used = 0
  }

  close(): void {
    this.flush()
    closeSync(this.fd)
  }
}

export const prepare = (sessions: number, path: string, churnPath: string): PrepareOutput => {
  const random = prng(3)
  const expiresAt = Date.now() + DAY_MS
  const tokens: Array<Buffer> = []
  const data = (i: number, version: number) =>
    Codec.encode({
      deadline: expiresAt,
      expiry: expiresAt,
      rememberMe: false,
      values: new Map(Object.entries({ ...sessionValues(i), version }))
    })
  const clean = new LogWriter(path)
  const churn = new LogWriter(churnPath)
  for (let i = 0; i < sessions; i++) {
    const token = Buffer.from(makeToken(random), "utf8")
    tokens.push(token)
    const bytes = data(i, 1)
    clean.put(token, expiresAt, bytes)
    churn.put(token, expiresAt, bytes)
  }
  clean.close()
  for (let i = 0; i < sessions; i += 2) churn.put(tokens[i]!, expiresAt, data(i, 2))
  for (let i = 1; i < sessions; i += 4) churn.push(Log.encodeDelete(churn.secret, tokens[i]!))
  churn.close()
  return { bytes: clean.bytes, churnBytes: churn.bytes }
}
