import { computed, effectScope, getCurrentScope, onScopeDispose, ref, shallowRef, triggerRef } from 'vue'
// the library's own build as a same-origin asset: its web worker loads it from here, never from a CDN
import compressionLibUrl from 'browser-image-compression/dist/browser-image-compression.js?url'
import { api } from '@/api/client'
import { call, NETWORK_ERROR_CODE, type ApiError } from '@/api/result'
import { ABORTED_CODE, putDocumentFile } from '@/api/upload'
import type { DocumentRead, FileRead, Material } from '@/api/types'
import { newDraftId } from '@/lib/draftId'
import { i18n } from '@/i18n'
import { errorMessage } from './useErrorText'

/** The BFF's limits (bff/domain/uploads): checked here first so the person hears at once, in the same words. */
export const MAX_FILE_BYTES = 10 * 1024 * 1024
export const MAX_PAGES = 20
/** What the pickers offer: PDF, JPEG, PNG and phone photos (HEIC/HEIF). */
export const ACCEPT = 'application/pdf,image/jpeg,image/png,image/heic,image/heif,.heic,.heif'

const SHRINK = { maxSizeMB: 1.5, maxWidthOrHeight: 2400, useWebWorker: true } as const
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000] // 5 tries in all, then the 「重试」 button

export type UploadStatus = 'queued' | 'shrinking' | 'uploading' | 'waiting' | 'done' | 'failed'

/** One file the person chose. The File stays in memory (never in browser storage) so a retry needs no new pick. */
export interface UploadItem {
  /** the file id sent to the server: the same on every retry, which makes retries safe */
  fileId: string
  file: File
  kind: 'pdf' | 'image'
  /** what goes up: the shrunk photo, or the file as chosen */
  blob: Blob | null
  /** an object URL for a photo the browser can show (revoked when the item goes) */
  previewUrl: string | null
  status: UploadStatus
  /** 0..100 */
  progress: number
  error: string
  /** network error or server trouble: 「重试」 may help */
  retryable: boolean
  attempts: number
  /** the server's record once uploaded (pages of a PDF, the sanitised copy's URL) */
  stored: FileRead | null
}

type Kind = 'pdf' | 'image' | null

function kindOf(file: File): Kind {
  const type = file.type.toLowerCase()
  const name = file.name.toLowerCase()
  if (type === 'application/pdf' || name.endsWith('.pdf')) return 'pdf'
  if (['image/jpeg', 'image/png', 'image/heic', 'image/heif'].includes(type)) return 'image'
  if (/\.(jpe?g|png|heic|heif)$/.test(name)) return 'image'
  return null
}

function displayable(blob: Blob): boolean {
  return blob.type === 'image/jpeg' || blob.type === 'image/png'
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

function transient(error: ApiError): boolean {
  return error.code === NETWORK_ERROR_CODE || error.status >= 500 || error.status === 429
}

// The library runs in a web worker made from a blob: URL. Where the page's Content-Security-Policy does not allow
// such workers, it falls back to the main thread by itself; after the first refusal we stop asking for one.
let workerAllowed = true
if (typeof document !== 'undefined') {
  document.addEventListener('securitypolicyviolation', (event) => {
    if (event.effectiveDirective === 'worker-src' && event.blockedURI.startsWith('blob')) workerAllowed = false
  })
}

/** Shrinks a photo in the browser; null when it cannot (e.g. HEIC where the browser cannot decode it). */
async function shrink(file: File): Promise<Blob | null> {
  try {
    const { default: imageCompression } = await import('browser-image-compression')
    const libURL = new URL(compressionLibUrl, window.location.href).href
    const small = await imageCompression(file, { ...SHRINK, useWebWorker: SHRINK.useWebWorker && workerAllowed, libURL })
    return small.size < file.size ? small : file.type === 'image/jpeg' || file.type === 'image/png' ? file : small
  } catch {
    return null
  }
}

/**
 * One document (one letter: a PDF, or several photos of one paper letter) being uploaded: the files in page
 * order, each shrunk (photos), uploaded with progress, retried on network errors and server trouble.
 * Create it in the page's setup (or an effect scope): its object URLs are revoked when that scope ends.
 */
export function useDocumentUpload(material: Material) {
  // i18n.global, not useI18n(): an upload may be set up after an await, outside any component's setup
  const t = i18n.global.t
  const document = shallowRef<DocumentRead | null>(null)
  const items = ref<UploadItem[]>([])
  const stopped = new AbortController()
  const inFlight = new Map<string, AbortController>()
  let creating: Promise<DocumentRead | ApiError> | null = null
  let pumping = false

  const pending = computed(() => items.value.some((i) => ['queued', 'shrinking', 'uploading', 'waiting'].includes(i.status)))
  const failed = computed(() => items.value.filter((i) => i.status === 'failed'))
  /** the document has at least one page and nothing is still on its way or failed */
  const ready = computed(() => !!document.value && document.value.files.length > 0 && !pending.value && failed.value.length === 0)
  const pages = computed(() => document.value?.pages ?? 0)

  function item(fileId: string): UploadItem | undefined {
    return items.value.find((i) => i.fileId === fileId)
  }

  function update(fileId: string, patch: Partial<UploadItem>) {
    const found = item(fileId)
    if (found) Object.assign(found, patch)
  }

  function refuse(file: File, message: string) {
    items.value.push({
      fileId: newFileId(), file, kind: kindOf(file) ?? 'image', blob: null, previewUrl: null, status: 'failed',
      progress: 0, error: message, retryable: false, attempts: 0, stored: null,
    })
  }

  function newFileId(): string {
    return newDraftId().replace(/-/g, '')
  }

  /** Adds what the person picked (camera or files), after the same checks the server makes. */
  function add(list: FileList | File[] | null) {
    const files = Array.from(list ?? [])
    const live = () => items.value.filter((i) => i.status !== 'failed' || i.retryable)
    for (const file of files) {
      const kind = kindOf(file)
      if (kind === null) {
        refuse(file, t('upload.errors.type'))
        continue
      }
      if (file.size === 0) {
        refuse(file, t('upload.errors.empty'))
        continue
      }
      const current = live()
      if (kind === 'pdf' && current.length > 0) {
        refuse(file, t('upload.errors.pdfWithOthers'))
        continue
      }
      if (kind === 'image' && current.some((i) => i.kind === 'pdf')) {
        refuse(file, t('upload.errors.photoWithPdf'))
        continue
      }
      if (current.length >= MAX_PAGES) {
        refuse(file, t('upload.errors.tooManyPages', { max: MAX_PAGES }))
        continue
      }
      if (kind === 'pdf' && file.size > MAX_FILE_BYTES) {
        refuse(file, t('upload.errors.tooLarge'))
        continue
      }
      items.value.push({
        fileId: newFileId(), file, kind, blob: kind === 'pdf' ? file : null, previewUrl: null, status: 'queued',
        progress: 0, error: '', retryable: false, attempts: 0, stored: null,
      })
    }
    void pump()
  }

  async function ensureDocument(): Promise<DocumentRead | ApiError> {
    if (document.value) return document.value
    if (!creating) {
      creating = call(() => api.POST('/api/documents', { body: { material } })).then((result) => {
        creating = null
        if (result.ok) {
          document.value = result.data
          return result.data
        }
        return result.error
      })
    }
    return creating
  }

  /** Uploads the queued files one at a time, so that the pages arrive (and are numbered) in the order chosen. */
  async function pump() {
    if (pumping) return
    pumping = true
    try {
      for (;;) {
        const next = items.value.find((i) => i.status === 'queued')
        if (!next || stopped.signal.aborted) break
        await send(next.fileId)
      }
    } finally {
      pumping = false
    }
  }

  async function send(fileId: string) {
    const start = item(fileId)
    if (!start) return
    if (start.kind === 'image' && start.blob === null) {
      update(fileId, { status: 'shrinking' })
      const small = await shrink(start.file)
      const blob = small ?? start.file // the server converts what the browser could not (e.g. HEIC)
      if (!item(fileId)) return
      if (blob.size > MAX_FILE_BYTES) {
        update(fileId, { status: 'failed', error: t('upload.errors.tooLarge'), retryable: false })
        return
      }
      update(fileId, { blob, previewUrl: displayable(blob) ? URL.createObjectURL(blob) : null })
    }
    const controller = new AbortController()
    inFlight.set(fileId, controller)
    try {
      for (let attempt = 0; ; attempt++) {
        const current = item(fileId)
        if (!current || !current.blob || controller.signal.aborted) return
        update(fileId, { status: 'uploading', progress: 0, error: '', attempts: attempt + 1 })
        const doc = await ensureDocument()
        let error: ApiError
        if ('code' in doc) {
          error = doc
        } else {
          const result = await putDocumentFile(doc.id, fileId, current.file.name, current.blob, {
            signal: controller.signal,
            onProgress: (fraction) => update(fileId, { progress: Math.round(fraction * 100) }),
          })
          if (result.ok) {
            document.value = result.data
            update(fileId, {
              status: 'done', progress: 100, stored: result.data.files.find((f) => f.id === fileId) ?? null,
            })
            return
          }
          error = result.error
        }
        if (error.code === ABORTED_CODE || !item(fileId)) return
        const retryable = transient(error)
        if (retryable && attempt < RETRY_DELAYS_MS.length) {
          update(fileId, { status: 'waiting', error: errorMessage(error) })
          const base = RETRY_DELAYS_MS[attempt]!
          await sleep(base + Math.random() * base * 0.3, controller.signal)
          continue
        }
        update(fileId, { status: 'failed', error: errorMessage(error), retryable })
        return
      }
    } finally {
      inFlight.delete(fileId)
    }
  }

  /** Tries a failed file again, with the same file id (so it cannot arrive twice). */
  function retry(fileId: string) {
    const found = item(fileId)
    if (!found || found.status !== 'failed' || !found.retryable) return
    Object.assign(found, { status: 'queued', error: '', progress: 0 })
    void pump()
  }

  /** Removes a page: stops its upload, deletes it on the server, frees its preview. */
  async function remove(fileId: string): Promise<ApiError | null> {
    const found = item(fileId)
    if (!found) return null
    inFlight.get(fileId)?.abort()
    const onServer = found.status === 'done' || found.status === 'uploading' || found.status === 'waiting'
    if (onServer && document.value) {
      const result = await call(() =>
        api.DELETE('/api/documents/{document_id}/files/{file_id}', {
          params: { path: { document_id: document.value!.id, file_id: fileId } },
        }),
      )
      if (result.ok) document.value = result.data
      else if (result.error.status !== 404) return result.error
    }
    if (found.previewUrl) URL.revokeObjectURL(found.previewUrl)
    items.value = items.value.filter((i) => i.fileId !== fileId)
    triggerRef(document)
    void pump()
    return null
  }

  function dispose() {
    stopped.abort()
    inFlight.forEach((c) => c.abort())
    for (const i of items.value) if (i.previewUrl) URL.revokeObjectURL(i.previewUrl)
  }
  if (getCurrentScope()) onScopeDispose(dispose)

  return { material, document, items, pending, failed, ready, pages, add, retry, remove, dispose }
}

export type DocumentUpload = ReturnType<typeof useDocumentUpload>

/**
 * An upload that can be started afresh (e.g. after a letter was used for some requests, the next one is a
 * new document); each one lives in its own effect scope, stopped when replaced or when the owner's scope ends.
 */
export function useFreshUpload(material: Material) {
  let scope = effectScope()
  const upload = shallowRef<DocumentUpload>(scope.run(() => useDocumentUpload(material))!)
  function reset() {
    scope.stop()
    scope = effectScope()
    upload.value = scope.run(() => useDocumentUpload(material))!
  }
  if (getCurrentScope()) onScopeDispose(() => scope.stop())
  return { upload, reset }
}
