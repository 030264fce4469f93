/**
 * What a driver error means for an order. This is the only module that knows SQLSTATE codes;
 * everything above it sees `DatabaseUnavailable`, `InvalidOrder` or a defect.
 */
import { isSqlError, type SqlError } from "effect/sql/SqlError"

export type SqlFailure =
  /** The server cannot serve now; the same statement may succeed later. */
  | { readonly _tag: "Unavailable"; readonly detail: string }
  /** The server refused this data (SQLSTATE classes 22 and 23); retrying cannot help. */
  | { readonly _tag: "Data"; readonly sqlstate: string; readonly detail: string }
  /** A bug: bad SQL, missing table, a driver contract broken. Never retried. */
  | { readonly _tag: "Defect"; readonly detail: string }

/** Socket-level failures the driver reports with the errno name instead of a SQLSTATE. */
const NETWORK_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ERR_STREAM_DESTROYED"
])

/** Reason tags that mean "not now" whatever the code says. */
const TRANSIENT_REASONS = new Set([
  "ConnectionError",
  "StatementTimeoutError",
  "DeadlockError",
  "SerializationError",
  "LockTimeoutError",
  "AuthenticationError"
])

/** The SQLSTATE (or socket errno) behind a driver error, when it carries one. */
export const sqlstateOf = (error: SqlError): string | undefined => {
  const cause: unknown = error.reason.cause
  if (typeof cause === "object" && cause !== null && "code" in cause) {
    const code = (cause as { readonly code: unknown }).code
    return typeof code === "string" ? code : undefined
  }
  return undefined
}

/** SQLSTATEs that say the server is unreachable, shutting down or out of resources. */
export const isUnavailableSqlstate = (code: string): boolean =>
  code.startsWith("08") || // connection exception
  code.startsWith("53") || // insufficient resources (too many connections, disk full)
  code.startsWith("58") || // system error (I/O)
  code === "57P01" || // admin_shutdown
  code === "57P02" || // crash_shutdown
  code === "57P03" || // cannot_connect_now (starting up or shutting down)
  code === "57014" || // query_canceled: our statement_timeout fired
  code === "40001" || // serialization_failure
  code === "40P01" // deadlock_detected

export const isDataSqlstate = (code: string): boolean =>
  code.startsWith("22") || code.startsWith("23")

export const classifySqlError = (error: unknown): SqlFailure => {
  if (!isSqlError(error)) return { _tag: "Defect", detail: String(error) }
  const code = sqlstateOf(error)
  const detail = code === undefined ? error.message : `${error.message} (${code})`
  if (code !== undefined && isDataSqlstate(code)) return { _tag: "Data", sqlstate: code, detail }
  if (code !== undefined && (isUnavailableSqlstate(code) || NETWORK_ERRNOS.has(code))) {
    return { _tag: "Unavailable", detail }
  }
  if (TRANSIENT_REASONS.has(error.reason._tag)) return { _tag: "Unavailable", detail }
  return { _tag: "Defect", detail }
}
