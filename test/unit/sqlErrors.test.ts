import { assert, describe, it } from "@effect/vitest"
import { ConnectionError, SqlError, UnknownError } from "effect/sql/SqlError"
import { classifySqlError } from "../../src/db/sqlErrors.ts"

const withCode = (code: string) =>
  new SqlError({ reason: new UnknownError({ cause: { code }, message: `server said ${code}` }) })

describe("classifySqlError", () => {
  it.each([
    ["57P01", "admin_shutdown"],
    ["57P02", "crash_shutdown"],
    ["57P03", "cannot_connect_now"],
    ["08006", "connection_failure"],
    ["08001", "unable to connect"],
    ["53300", "too_many_connections"],
    ["57014", "query_canceled by statement_timeout"],
    ["40001", "serialization_failure"],
    ["ECONNREFUSED", "refused"],
    ["ECONNRESET", "reset"]
  ])("%s (%s) means the database is unavailable, not that the order is bad", (code) => {
    assert.strictEqual(classifySqlError(withCode(code))._tag, "Unavailable")
  })

  it.each([
    ["22021", "character_not_in_repertoire (NUL)"],
    ["22P05", "untranslatable_character"],
    ["22003", "numeric_value_out_of_range"],
    ["23505", "unique_violation"],
    ["23514", "check_violation"]
  ])("%s (%s) is the order's data", (code) => {
    assert.strictEqual(classifySqlError(withCode(code))._tag, "Data")
  })

  it("a connection error without any code is unavailability", () => {
    const error = new SqlError({ reason: new ConnectionError({ cause: new Error("socket") }) })
    assert.strictEqual(classifySqlError(error)._tag, "Unavailable")
  })

  it.each([
    ["25006", "read-only transaction: a standby after failover"],
    ["42501", "insufficient privilege"],
    ["42P01", "undefined table"],
    ["XX000", "internal error"]
  ])("%s (%s) is about the store: paused on, never dead-lettered", (code) => {
    assert.strictEqual(classifySqlError(withCode(code))._tag, "Unavailable")
  })

  it("a failure that is not the driver's is a defect", () => {
    assert.strictEqual(classifySqlError(new TypeError("boom"))._tag, "Defect")
  })
})
