/**
 * Type declarations for the benchmark's peers that ship none.
 */
declare module "session-file-store" {
  import type session from "express-session"

  interface FileStoreOptions {
    readonly path?: string
    readonly ttl?: number
    readonly retries?: number
    readonly reapInterval?: number
    readonly logFn?: (...args: ReadonlyArray<unknown>) => void
    readonly fileExtension?: string
    readonly secret?: string
  }

  function createFileStore(s: typeof session): new(options?: FileStoreOptions) => session.Store
  export = createFileStore
}

declare module "autocannon" {
  interface Client {
    setHeaders(headers: Record<string, string>): void
  }

  interface Histogram {
    readonly average: number
    readonly mean: number
    readonly stddev: number
    readonly min: number
    readonly max: number
    readonly p50: number
    readonly p90: number
    readonly p97_5: number
    readonly p99: number
    readonly total: number
  }

  interface Result {
    readonly requests: Histogram
    readonly latency: Histogram
    readonly throughput: Histogram
    readonly errors: number
    readonly timeouts: number
    readonly non2xx: number
    readonly mismatches: number
    readonly duration: number
    readonly "2xx": number
  }

  interface Options {
    readonly url: string
    readonly connections?: number
    readonly duration?: number
    readonly amount?: number
    readonly pipelining?: number
    readonly timeout?: number
    readonly headers?: Record<string, string>
    readonly setupClient?: (client: Client) => void
    readonly expectBody?: string
  }

  interface Instance extends PromiseLike<Result> {
    stop(): void
  }

  function autocannon(options: Options, callback?: (error: unknown, result: Result) => void): Instance
  export = autocannon
}
