/**
 * `layerConfig` of Session, MemStore and FileStore (issue 14 item 12): options read from a `ConfigProvider`, a
 * missing or malformed value failing the layer with a `ConfigError` that names the key, an invalid value with the
 * module's own typed error. (RedisStore.layerConfig is covered in RedisStore.test.ts.)
 */
import * as NodeServices from "@effect/platform-node/NodeServices"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import * as FileStore from "../src/FileStore.js"
import * as MemStore from "../src/MemStore.js"
import * as Session from "../src/Session.js"
import * as Store from "../src/Store.js"

const withEnv = (env: Record<string, string>) =>
  Effect.provideService(ConfigProvider.ConfigProvider, ConfigProvider.fromUnknown(env))

/** Builds `layer` under `env`: "success", "ConfigError: <message>", or the typed error's `_tag:reason`. */
const buildOutcome = <A, E>(layer: Layer.Layer<A, E>, env: Record<string, string>) =>
  Layer.build(layer).pipe(
    Effect.scoped,
    withEnv(env),
    Effect.exit,
    Effect.map((exit): string => {
      if (Exit.isSuccess(exit)) return "success"
      const error: unknown = Option.getOrUndefined(Cause.findErrorOption(exit.cause))
      if (error instanceof Config.ConfigError) return `ConfigError: ${String(error)}`
      const tagged = error as { readonly _tag?: string; readonly reason?: string } | undefined
      return tagged?._tag === undefined ? `defect: ${Cause.pretty(exit.cause)}` : `${tagged._tag}:${tagged.reason}`
    })
  )

const later = (minutes: number) => DateTime.makeUnsafe(Date.now() + minutes * 60_000)
const bytes = new Uint8Array([1, 2, 3])

describe("MemStore.layerConfig", () => {
  const config = {
    cleanupInterval: Config.Duration("SESSION_CLEANUP_INTERVAL").pipe(Config.withDefault("1 minute")),
    maxSessions: Config.Int("SESSION_MAX")
  }

  it.effect("reads maxSessions from the config provider: the store refuses a session beyond it", () =>
    Effect.gen(function*() {
      yield* Store.save("a", bytes, later(5))
      yield* Store.save("b", bytes, later(5))
      const third = yield* Effect.flip(Store.save("c", bytes, later(5)))
      assert.strictEqual(third.reason, "Full")
      assert.strictEqual(yield* (yield* MemStore.MemStore).size, 2)
    }).pipe(Effect.provide(MemStore.layerConfig(config)), withEnv({ SESSION_MAX: "2" })))

  it.effect("a missing or malformed value fails with a ConfigError naming the key; a bad value with InvalidInput", () =>
    Effect.gen(function*() {
      const layer = MemStore.layerConfig(config)
      assert.match(yield* buildOutcome(layer, {}), /^ConfigError: [\s\S]*SESSION_MAX/)
      assert.match(yield* buildOutcome(layer, { SESSION_MAX: "many" }), /^ConfigError: [\s\S]*SESSION_MAX/)
      assert.match(
        yield* buildOutcome(layer, { SESSION_MAX: "2", SESSION_CLEANUP_INTERVAL: "often" }),
        /^ConfigError: [\s\S]*SESSION_CLEANUP_INTERVAL/
      )
      assert.strictEqual(yield* buildOutcome(layer, { SESSION_MAX: "0" }), "SessionStoreError:InvalidInput")
      assert.strictEqual(yield* buildOutcome(layer, { SESSION_MAX: "3" }), "success")
    }))
})

describe("FileStore.layerConfig", () => {
  const config = {
    path: Config.String("SESSION_FILE"),
    sync: Config.Literals(["always", "everysec", "never"], "SESSION_SYNC").pipe(
      Config.withDefault("everysec" as const)
    ),
    compaction: Config.Boolean("SESSION_COMPACTION").pipe(
      Config.map((on) => on ? {} : false as const),
      Config.withDefault({})
    )
  }
  const layer = FileStore.layerConfig(config).pipe(Layer.provide(NodeServices.layer))

  it.effect("opens the log named by the config provider; a session saved there is read back after a reopen", () =>
    Effect.gen(function*() {
      const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "filestore-config-"))
      const file = Path.join(dir, "sessions.log")
      const env = { SESSION_FILE: file, SESSION_SYNC: "always", SESSION_COMPACTION: "false" }
      yield* Store.save("token", bytes, later(5)).pipe(Effect.provide(layer), withEnv(env))
      assert.isAbove(Fs.statSync(file).size, 0)
      const found = yield* Store.find("token").pipe(Effect.provide(layer), withEnv(env))
      assert.deepStrictEqual(Option.map(found, Array.from), Option.some([1, 2, 3]))
      Fs.rmSync(dir, { recursive: true, force: true })
    }))

  it.effect("a missing path or an unknown sync mode fails with a ConfigError naming the key; a missing folder is created", () =>
    Effect.gen(function*() {
      assert.match(yield* buildOutcome(layer, {}), /^ConfigError: [\s\S]*SESSION_FILE/)
      assert.match(
        yield* buildOutcome(layer, { SESSION_FILE: Path.join(Os.tmpdir(), "x.log"), SESSION_SYNC: "sometimes" }),
        /^ConfigError: [\s\S]*SESSION_SYNC/
      )
      const missing = Path.join(Os.tmpdir(), "no-such-dir-" + Date.now())
      assert.strictEqual(yield* buildOutcome(layer, { SESSION_FILE: Path.join(missing, "x.log") }), "success")
      assert.isTrue(Fs.statSync(missing).isDirectory(), "the missing folder is created")
      Fs.rmSync(missing, { recursive: true, force: true })
    }))
})

describe("Session.layerConfig", () => {
  const config = {
    lifetime: Config.Duration("SESSION_LIFETIME").pipe(Config.withDefault("12 hours")),
    idleTimeout: Config.Duration("SESSION_IDLE_TIMEOUT"),
    cookie: {
      name: Config.String("SESSION_COOKIE").pipe(Config.withDefault("session")),
      secure: Config.Boolean("SESSION_COOKIE_SECURE").pipe(Config.withDefault(true)),
      sameSite: Config.Literals(["lax", "strict", "none"], "SESSION_COOKIE_SAMESITE").pipe(
        Config.withDefault("lax" as const)
      )
    }
  }
  const layer = Session.layerConfig(config).pipe(Layer.provide(MemStore.layer()))
  const user = Session.key("user", Schema.String)

  it.effect("reads lifetime, idleTimeout and cookie options: the manager's options and the cookie it sets", () =>
    Effect.gen(function*() {
      const manager = yield* Session.SessionManager
      assert.isTrue(Duration.equals(manager.options.lifetime, Duration.hours(2)))
      assert.deepStrictEqual(manager.options.idleTimeout, Option.some(Duration.minutes(10)))
      assert.strictEqual(manager.options.cookie.name, "sid")
      assert.strictEqual(manager.options.cookie.secure, false)
      assert.strictEqual(manager.options.cookie.sameSite, "strict")
      const handle = manager.begin(undefined)
      yield* handle.session.set(user, "alice")
      const result = yield* handle.commit
      assert.strictEqual(result._tag, "SetCookie")
      // the idle timeout (10 minutes) comes before the lifetime: it sets the cookie's Max-Age
      if (result._tag === "SetCookie") assert.strictEqual(result.maxAge, 600)
    }).pipe(
      Effect.provide(layer),
      withEnv({
        SESSION_LIFETIME: "2 hours",
        SESSION_IDLE_TIMEOUT: "10 minutes",
        SESSION_COOKIE: "sid",
        SESSION_COOKIE_SECURE: "false",
        SESSION_COOKIE_SAMESITE: "strict"
      })
    ))

  it.effect("a missing key fails with a ConfigError; options that contradict each other with InvalidOptions", () =>
    Effect.gen(function*() {
      assert.match(yield* buildOutcome(layer, {}), /^ConfigError: [\s\S]*SESSION_IDLE_TIMEOUT/)
      assert.match(
        yield* buildOutcome(layer, { SESSION_IDLE_TIMEOUT: "10 minutes", SESSION_COOKIE_SECURE: "maybe" }),
        /^ConfigError: [\s\S]*SESSION_COOKIE_SECURE/
      )
      // SameSite=None requires secure
      assert.strictEqual(
        yield* buildOutcome(layer, {
          SESSION_IDLE_TIMEOUT: "10 minutes",
          SESSION_COOKIE_SECURE: "false",
          SESSION_COOKIE_SAMESITE: "none"
        }),
        "SessionError:InvalidOptions"
      )
      assert.strictEqual(yield* buildOutcome(layer, { SESSION_IDLE_TIMEOUT: "10 minutes" }), "success")
    }))
})
