/**
 * The shapes every answer of the service takes: errors from the table in `Api.ts`, and the
 * headers that go on every response.
 */
import { HttpServerResponse } from "effect/http"
import { type ApiErrorCode, apiErrors } from "./Api.ts"

/** `{"error": code, "message": ...}` with the code's status. */
export const errorResponse = (
  code: ApiErrorCode,
  message: string,
  headers: Record<string, string> = {}
) =>
  HttpServerResponse.jsonUnsafe(
    { error: code, message },
    { status: apiErrors[code].status, headers: { "cache-control": "no-store", ...headers } }
  )

/**
 * The page loads only its own script, style and icon and talks only to its own origin; no
 * inline code, no frames, no external anything.
 */
const contentSecurityPolicy = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join("; ")

/** Set on every response, API and page alike. */
export const securityHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": contentSecurityPolicy,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()"
}
