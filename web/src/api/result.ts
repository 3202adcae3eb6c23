/**
 * Turns an openapi-fetch call into `{ data } | { error }` with one error shape for the UI: the BFF's ErrorBody
 * (`code`, Chinese `message`, per-field messages), or a network failure (status 0) that the caller may retry.
 */
import type { ErrorBody } from './types'

export interface ApiError {
  /** HTTP status; 0 when the request never got an answer */
  status: number
  code: string
  /** the server's sentence (Chinese), or empty when the UI should use its own wording for `code` */
  message: string
  /** per-field messages of a validation_error, keyed by field name */
  fields: Record<string, string>
}

export type Result<T> = { ok: true; data: T; status: number } | { ok: false; error: ApiError }

interface FetchOutcome<T> {
  data?: T
  error?: unknown
  response: Response
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  )
}

export function toApiError(status: number, body: unknown): ApiError {
  if (isErrorBody(body)) {
    const fields: Record<string, string> = {}
    for (const f of body.fields ?? []) fields[f.field] = f.message
    return { status, code: body.code, message: body.message, fields }
  }
  return { status, code: status >= 500 ? 'server_error' : 'http_error', message: '', fields: {} }
}

export const NETWORK_ERROR_CODE = 'network_error'

export async function call<T>(request: () => Promise<FetchOutcome<T>>): Promise<Result<T>> {
  let outcome: FetchOutcome<T>
  try {
    outcome = await request()
  } catch {
    return { ok: false, error: { status: 0, code: NETWORK_ERROR_CODE, message: '', fields: {} } }
  }
  const { response } = outcome
  if (response.ok && outcome.data !== undefined) return { ok: true, data: outcome.data, status: response.status }
  return { ok: false, error: toApiError(response.status, outcome.error) }
}
