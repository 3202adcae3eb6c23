/**
 * The offline copy of 我的申请: what the list shows (kind, status, reference number, dates), written by the app
 * after each successful fetch of the list, read by the offline screen when the network is gone. Never the
 * person's name, ID number, phone or addresses (the list's answer holds none; only the fields below are kept).
 *
 * It lives in IndexedDB (`OFFLINE_DATABASE`), which `forgetPersonalData()` deletes at sign-out and on any 401
 * (src/lib/personalData.ts names it in `APP_DATABASES`). The service worker still keeps no answer of the BFF:
 * this copy is the app's own, made from the answer it already had.
 */
import type { ApplicationSummary } from '@/api/types'

export const OFFLINE_DATABASE = 'portal-offline'
const STORE = 'applications'
const KEY = 'list'

/** One row of the offline list: nothing about the person beyond what the row of 我的申请 shows. */
export interface OfflineApplication {
  kind_name: string
  status: string
  status_label: string
  reference_no: string
  submitted_at: string
  updated_at: string
  next_due_on: string | null
  overdue: boolean
}

export interface OfflineList {
  /** when the list was last fetched from the server (ISO 8601) */
  synced_at: string
  items: OfflineApplication[]
}

/** Set while the browser forgets the person: a list answer arriving meanwhile must not write the copy back. */
let stopped = false

export function stopOfflineCopy(): void {
  stopped = true
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result)
    r.onerror = () => reject(r.error)
  })
}

function open(): Promise<IDBDatabase> {
  const opening = indexedDB.open(OFFLINE_DATABASE, 1)
  opening.onupgradeneeded = () => opening.result.createObjectStore(STORE)
  return request(opening).then((db) => {
    // sign-out deletes the database: let go of it rather than block the deletion
    db.onversionchange = () => db.close()
    return db
  })
}

function only(item: ApplicationSummary): OfflineApplication {
  return {
    kind_name: item.kind_name,
    status: item.status,
    status_label: item.status_label,
    reference_no: item.reference_no,
    submitted_at: item.submitted_at,
    updated_at: item.updated_at,
    next_due_on: item.next_due_on,
    overdue: item.overdue,
  }
}

/** Keeps the list just fetched (best effort: a browser without IndexedDB simply has no offline copy). */
export async function saveOfflineList(items: readonly ApplicationSummary[]): Promise<void> {
  if (stopped || typeof indexedDB === 'undefined') return
  try {
    const db = await open()
    try {
      if (stopped) return
      const list: OfflineList = { synced_at: new Date().toISOString(), items: items.map(only) }
      const tx = db.transaction(STORE, 'readwrite')
      tx.objectStore(STORE).put(list, KEY)
      await new Promise<void>((resolve, reject) => {
        tx.oncomplete = () => resolve()
        tx.onerror = () => reject(tx.error)
        tx.onabort = () => reject(tx.error)
      })
    } finally {
      db.close()
    }
  } catch {
    // storage full or unavailable: the app works online as before
  }
}

/** The last list kept on this device, or null. */
export async function readOfflineList(): Promise<OfflineList | null> {
  if (typeof indexedDB === 'undefined') return null
  try {
    // only look: do not create the database when there is none (after sign-out)
    if (typeof indexedDB.databases === 'function') {
      const names = (await indexedDB.databases()).map((info) => info.name)
      if (!names.includes(OFFLINE_DATABASE)) return null
    }
    const db = await open()
    try {
      const value = (await request(db.transaction(STORE).objectStore(STORE).get(KEY))) as OfflineList | undefined
      return value && Array.isArray(value.items) ? value : null
    } finally {
      db.close()
    }
  } catch {
    return null
  }
}
