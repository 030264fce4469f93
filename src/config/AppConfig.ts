/**
 * Every setting of order-service, read once at start from environment variables. Defaults
 * work on a developer machine with PostgreSQL and Kafka on localhost.
 */
import { Config, Context, Duration, Effect, Layer, type Option, type Redacted } from "effect"
import { DEFAULT_MAX_ITEMS } from "../domain/Order.ts"
import * as Setting from "./settings.ts"

export const LOG_LEVELS = ["trace", "debug", "info", "warning", "error"] as const
export type LogLevelName = (typeof LOG_LEVELS)[number]

export interface AppConfigShape {
  readonly database: {
    readonly url: Redacted.Redacted<string>
    readonly poolMax: number
    readonly pingInterval: Duration.Duration
    readonly pingTimeout: Duration.Duration
    /** Upper bound for any one statement; a hung connection then reads as the DB being down. */
    readonly statementTimeout: Duration.Duration
  }
  readonly kafka: {
    readonly brokers: ReadonlyArray<string>
    readonly clientId: string
    readonly topic: string
    readonly dlqTopic: string
    readonly groupId: string
    readonly createTopics: boolean
    readonly topicPartitions: number
    /** How many partitions this replica processes at once. */
    readonly partitionConcurrency: number
    readonly sessionTimeoutMs: number
    /** Longest a fetch waits for new data; bounds how fast shutdown and seeks take effect. */
    readonly maxWaitMs: number
    /** How long one dead-letter send may wait for its acknowledgement before it is retried. */
    readonly dlqSendTimeout: Duration.Duration
    /** On shutdown, how long the batches in flight may take to finish and commit. */
    readonly shutdownDrainTimeout: Duration.Duration
  }
  readonly ingest: {
    readonly maxItems: number
    /** Orders per database transaction. */
    readonly batchSize: number
    readonly retryAttempts: number
    readonly retryBaseDelay: Duration.Duration
  }
  readonly http: {
    readonly port: number
    /** Bound on receiving a whole request, headers and body: a slow client is cut off. */
    readonly requestTimeout: Duration.Duration
    /** Bound on receiving the headers; at most `requestTimeout`. */
    readonly headersTimeout: Duration.Duration
    /** How long an idle keep-alive connection stays open. */
    readonly keepAliveTimeout: Duration.Duration
    /** Cap on the request line plus headers; larger requests get 431. */
    readonly maxHeaderBytes: number
    /** Cap on a request body (no endpoint takes one); larger declared bodies get 413. */
    readonly maxBodyBytes: number
    /** On shutdown, how long in-flight requests may take before they are cut. */
    readonly shutdownTimeout: Duration.Duration
  }
  readonly cache: {
    readonly maxEntries: number
    readonly maxEntryBytes: number
    readonly warmEntries: number
    readonly fillOnInsert: boolean
  }
  readonly log: { readonly level: LogLevelName; readonly format: "json" | "pretty" }
  /** Where spans go over OTLP/HTTP (the collector's base URL); none means tracing is off. */
  readonly traces: { readonly otlpEndpoint: Option.Option<string> }
}

export const appConfig: Config.Config<AppConfigShape> = Config.all({
  database: Config.all({
    url: Setting.secret("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orders"),
    poolMax: Setting.int("DB_POOL_MAX", 10, 1, 1000),
    pingInterval: Setting.duration("DB_PING_INTERVAL", Duration.seconds(2)),
    pingTimeout: Setting.duration("DB_PING_TIMEOUT", Duration.seconds(1)),
    statementTimeout: Setting.duration("DB_STATEMENT_TIMEOUT", Duration.seconds(10))
  }),
  kafka: Config.all({
    brokers: Setting.list("KAFKA_BROKERS", ["127.0.0.1:9092"]),
    clientId: Setting.text("KAFKA_CLIENT_ID", "order-service"),
    topic: Setting.text("KAFKA_TOPIC", "orders"),
    dlqTopic: Setting.text("KAFKA_DLQ_TOPIC", "orders-dlq"),
    groupId: Setting.text("KAFKA_GROUP_ID", "order-service"),
    createTopics: Setting.bool("KAFKA_CREATE_TOPICS", true),
    topicPartitions: Setting.int("KAFKA_TOPIC_PARTITIONS", 3, 1, 1000),
    partitionConcurrency: Setting.int("KAFKA_PARTITION_CONCURRENCY", 4, 1, 1000),
    sessionTimeoutMs: Setting.duration("KAFKA_SESSION_TIMEOUT", Duration.seconds(30)).pipe(
      Config.map(Duration.toMillis)
    ),
    maxWaitMs: Setting.duration("KAFKA_MAX_WAIT", Duration.millis(500)).pipe(
      Config.map(Duration.toMillis)
    ),
    dlqSendTimeout: Setting.duration("KAFKA_DLQ_SEND_TIMEOUT", Duration.seconds(30)),
    shutdownDrainTimeout: Setting.duration("KAFKA_SHUTDOWN_TIMEOUT", Duration.seconds(20))
  }),
  ingest: Config.all({
    maxItems: Setting.int("ORDER_MAX_ITEMS", DEFAULT_MAX_ITEMS, 1, 100_000),
    batchSize: Setting.int("INGEST_BATCH_SIZE", 500, 1, 10_000),
    retryAttempts: Setting.int("DB_RETRY_ATTEMPTS", 5, 0, 100),
    retryBaseDelay: Setting.duration("DB_RETRY_BASE_DELAY", Duration.millis(100))
  }),
  http: Config.all({
    port: Setting.int("HTTP_PORT", 8080, 0, 65535),
    requestTimeout: Setting.duration("HTTP_REQUEST_TIMEOUT", Duration.seconds(30)),
    headersTimeout: Setting.duration("HTTP_HEADERS_TIMEOUT", Duration.seconds(10)),
    keepAliveTimeout: Setting.duration("HTTP_KEEP_ALIVE_TIMEOUT", Duration.seconds(5)),
    maxHeaderBytes: Setting.int("HTTP_MAX_HEADER_BYTES", 16 * 1024, 1024, 1024 * 1024),
    maxBodyBytes: Setting.int("HTTP_MAX_BODY_BYTES", 16 * 1024, 0, 64 * 1024 * 1024),
    shutdownTimeout: Setting.duration("HTTP_SHUTDOWN_TIMEOUT", Duration.seconds(10))
  }),
  cache: Config.all({
    maxEntries: Setting.int("CACHE_MAX_ENTRIES", 10_000, 0, 10_000_000),
    maxEntryBytes: Setting.int("CACHE_MAX_ENTRY_BYTES", 64 * 1024, 0, 64 * 1024 * 1024),
    warmEntries: Setting.int("CACHE_WARM_ENTRIES", 1000, 0, 10_000_000),
    fillOnInsert: Setting.bool("CACHE_FILL_ON_INSERT", true)
  }),
  log: Config.all({
    level: Setting.oneOf("LOG_LEVEL", "info", LOG_LEVELS),
    format: Setting.oneOf("LOG_FORMAT", "json", ["json", "pretty"] as const)
  }),
  traces: Config.all({ otlpEndpoint: Setting.optionalUrl("OTEL_EXPORTER_OTLP_ENDPOINT") })
})

/** The validated settings, as a service so that tests can provide their own. */
export class AppConfig extends Context.Service<AppConfig, AppConfigShape>()(
  "order-service/AppConfig"
) {
  /** Reads the environment; fails with one line naming the variable when a value is bad. */
  static readonly layer = Layer.effect(AppConfig, appConfig)

  static readonly layerFrom = (config: AppConfigShape) => Layer.succeed(AppConfig, config)
}

/**
 * Start-up refuses a bad setting with one line on stderr (the variable, the value, what was
 * expected) and exit code 1, instead of a stack of causes.
 */
export const exitOnConfigError = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.catchIf(
      (error): error is Extract<E, Config.ConfigError> =>
        typeof error === "object" &&
        error !== null &&
        (error as { _tag?: unknown })._tag === "ConfigError",
      (error) =>
        Effect.sync(() => {
          process.stderr.write(`order-service: configuration error: ${configErrorLine(error)}\n`)
          process.exitCode = 1
        })
    )
  )

const configErrorLine = (error: Config.ConfigError): string =>
  error.cause._tag === "SourceError" ? error.cause.message : error.message.replaceAll("\n", " ")
