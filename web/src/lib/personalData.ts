/**
 * What this browser keeps that could hold a person's data, and the one function that forgets all of it.
 *
 * Sign-out calls `forgetPersonalData()` before the form goes to `/auth/logout`, and so does any 401 (the session
 * is gone): the next person to pick up the phone finds nothing. What the app keeps in memory goes with the page
 * (sign-out navigates away; a 401 unmounts the signed-in shell).
 *
 * Anything that starts keeping data in the browser (the offline copy of 我的申请 in lib/offlineApplications.ts, a
 * saved draft) adds itself here: a Cache Storage cache or an IndexedDB database is deleted below without a change (name the database in
 * `APP_DATABASES` too, for browsers that cannot list theirs, and close it on `versionchange`), a
 * sessionStorage key goes with the rest; a localStorage key goes unless it is in `KEPT_KEYS`.
 */
import { LOCALE_STORAGE_KEY } from '@/composables/useLocale'
import { ELDER_STORAGE_KEY } from '@/composables/useElderMode'
import { OFFLINE_DATABASE, stopOfflineCopy } from '@/lib/offlineApplications'

/** The service worker's precache of the app shell (code, styles, icons; no answer of the BFF): it stays. */
const APP_SHELL_CACHE = /^workbox-precache/
/** localStorage keys that hold no personal data and outlive a session: the language and 长辈模式 of this device. */
const KEPT_KEYS: ReadonlySet<string> = new Set([LOCALE_STORAGE_KEY, ELDER_STORAGE_KEY])
/** IndexedDB databases the app opens (deleted by name where `indexedDB.databases()` is missing). */
const APP_DATABASES: readonly string[] = [OFFLINE_DATABASE]
/** A store that does not answer in time must not keep the person from signing out. */
const STEP_TIMEOUT_MS = 3_000

function inTime(work: Promise<unknown>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, STEP_TIMEOUT_MS)
  })
  return Promise.race([work.then(() => undefined, () => undefined), late]).finally(() => clearTimeout(timer))
}

function clearWebStorage(): void {
  try {
    window.sessionStorage.clear()
  } catch {
    // storage unavailable (private mode): nothing was kept
  }
  try {
    const local = window.localStorage
    for (const key of Object.keys(local)) if (!KEPT_KEYS.has(key)) local.removeItem(key)
  } catch {
    // as above
  }
}

async function clearCaches(): Promise<void> {
  if (typeof caches === 'undefined') return
  const names = await caches.keys()
  await Promise.all(names.filter((name) => !APP_SHELL_CACHE.test(name)).map((name) => caches.delete(name)))
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const request = indexedDB.deleteDatabase(name)
    // `blocked` (another tab still has it open) is not the end: it is deleted once that tab lets go
    request.onsuccess = () => resolve()
    request.onerror = () => resolve()
  })
}

async function clearIndexedDB(): Promise<void> {
  if (typeof indexedDB === 'undefined') return
  const names = new Set(APP_DATABASES)
  if (typeof indexedDB.databases === 'function') {
    for (const info of await indexedDB.databases()) if (info.name) names.add(info.name)
  }
  await Promise.all([...names].map(deleteDatabase))
}

/** Forgets everything this browser keeps of the person (see above); never throws, never hangs. */
export async function forgetPersonalData(): Promise<void> {
  stopOfflineCopy()
  clearWebStorage()
  await Promise.all([inTime(clearCaches()), inTime(clearIndexedDB())])
}
