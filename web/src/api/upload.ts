/**
 * PUT a Blob with upload progress. fetch() cannot report upload progress, so this one request type uses
 * XMLHttpRequest; it answers like `call()` in result.ts: `{ ok, data }` or one `ApiError` (status 0 when the
 * request never got an answer). Same-origin, with the session cookie, never cached.
 */
import { notifyUnauthenticated } from './client'
import { NETWORK_ERROR_CODE, toApiError, type Result } from './result'
import type { paths } from './schema'

export const ABORTED_CODE = 'aborted'

export interface PutOptions {
  /** 0..1, as the bytes leave the browser */
  onProgress?: (fraction: number) => void
  signal?: AbortSignal
}

function parse(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined
  } catch {
    return undefined
  }
}

export function putBlob<T>(url: string, body: Blob, { onProgress, signal }: PutOptions = {}): Promise<Result<T>> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest()
    const fail = (code: string) => resolve({ ok: false, error: { status: 0, code, message: '', fields: {} } })
    if (signal?.aborted) return fail(ABORTED_CODE)
    xhr.open('PUT', url)
    xhr.withCredentials = false // same-origin requests carry the session cookie anyway
    xhr.responseType = 'text'
    xhr.setRequestHeader('Accept', 'application/json')
    xhr.setRequestHeader('Content-Type', body.type || 'application/octet-stream')
    if (onProgress) {
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(Math.min(1, e.loaded / e.total))
      })
    }
    xhr.addEventListener('load', () => {
      const data = parse(xhr.responseText)
      if (xhr.status >= 200 && xhr.status < 300 && data !== undefined) {
        resolve({ ok: true, data: data as T, status: xhr.status })
        return
      }
      if (xhr.status === 401) notifyUnauthenticated()
      resolve({ ok: false, error: toApiError(xhr.status, data) })
    })
    xhr.addEventListener('error', () => fail(NETWORK_ERROR_CODE))
    xhr.addEventListener('timeout', () => fail(NETWORK_ERROR_CODE))
    xhr.addEventListener('abort', () => fail(ABORTED_CODE))
    signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    xhr.send(body)
  })
}

type UploadAnswer =
  paths['/api/documents/{document_id}/files/{file_id}']['put']['responses'][200]['content']['application/json']

/** `PUT /api/documents/{id}/files/{file_id}?name=…` (uploadDocumentFile): the same file id again is a safe retry. */
export function putDocumentFile(
  documentId: string,
  fileId: string,
  name: string,
  body: Blob,
  options?: PutOptions,
): Promise<Result<UploadAnswer>> {
  const url =
    `/api/documents/${encodeURIComponent(documentId)}/files/${encodeURIComponent(fileId)}` +
    `?name=${encodeURIComponent(name)}`
  return putBlob<UploadAnswer>(url, body, options)
}
