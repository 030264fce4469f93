/**
 * What a driver error means for an order. This is the only module that knows SQLSTATE codes;
 * everything above it sees `DatabaseUnavailable`, `InvalidOrder` or a defect.
 */
import { isSqlError, type SqlError } from "effect/sql/SqlError"

export type SqlFailure =
  /** The store cannot take the order now; the same statement may succeed later. */
  | { readonly _tag: "Unavailable"; readonly detail: string }
  /** The server refused this data (SQLSTATE classes 22 and 23); retrying cannot help. */
  | { readonly _tag: "Data"; readonly sqlstate: string; readonly detail: string }
  /** Not a driver error at all: a bug in our code. */
  | { readonly _tag: "Defect"; readonly detail: string }

/** The SQLSTATE (or socket errno, for a refused or reset connection) behind a driver error. */
export const sqlstateOf = (error: SqlError): string | undefined => {
  const cause: unknown = error.reason.cause
  if (typeof cause === "object" && cause !== null && "code" in cause) {
    const code = (cause as { readonly code: unknown }).code
    return typeof code === "string" ? code : undefined
  }
  return undefined
}

/** Data exceptions (22: NUL in text, out of range) and integrity violations (23). */
export const isDataSqlstate = (code: string): boolean =>
  code.startsWith("22") || code.startsWith("23")

export const classifySqlError = (error: unknown): SqlFailure => {
  if (!isSqlError(error)) return { _tag: "Defect", detail: String(error) }
  const code = sqlstateOf(error)
  const detail = code === undefined ? error.message : `${error.message} (${code})`
  if (code !== undefined && isDataSqlstate(code)) return { _tag: "Data", sqlstate: code, detail }
  // Everything else is about the store, not the order: outages (08, 57P01-57P03, 53, 58, our
  // statement timeout 57014, sockets refused or reset), contention (40001, 40P01), and also a
  // read-only standby after a failover (25006), revoked privileges (42501), a missing table.
  // Dead-lettering valid orders for those would drain the topic into the DLQ; treating them
  // as an outage pauses consumption, loses nothing, and the logs carry the SQLSTATE.
  return { _tag: "Unavailable", detail }
}
