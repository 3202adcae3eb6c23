import { getCurrentScope, onScopeDispose } from 'vue'
import { useSession } from './useSession'

/** `event: application` from `/api/events`; `null` means "something may have changed, refetch". */
export interface ApplicationEvent {
  id: string
  status: string
}
export type LiveHandler = (event: ApplicationEvent | null) => void

const EVENTS_URL = '/api/events'
const handlers = new Set<LiveHandler>()
let users = 0
let source: EventSource | null = null
let reconnectTimer: ReturnType<typeof setTimeout> | undefined
let backoffMs = 2_000
let wasOpen = false

function notify(event: ApplicationEvent | null) {
  handlers.forEach((handler) => handler(event))
}

function parse(data: string): ApplicationEvent | null {
  try {
    const value: unknown = JSON.parse(data)
    if (typeof value === 'object' && value !== null && 'id' in value) {
      const { id, status } = value as { id: unknown; status?: unknown }
      return { id: String(id), status: typeof status === 'string' ? status : '' }
    }
  } catch {
    // a malformed event still says that something changed
  }
  return null
}

function open() {
  if (source || typeof EventSource === 'undefined') return
  const es = new EventSource(EVENTS_URL)
  source = es
  es.addEventListener('open', () => {
    backoffMs = 2_000
    // after a reconnect, events may have been missed: refetch what is shown
    if (wasOpen) notify(null)
    wasOpen = true
  })
  es.addEventListener('application', (message) => notify(parse((message as MessageEvent<string>).data)))
  es.addEventListener('error', () => {
    // CONNECTING: the browser reconnects by itself. CLOSED: the server refused (e.g. the session ended);
    // ask who is signed in (a 401 shows the sign-in screen) and try again later if still wanted.
    if (es.readyState !== EventSource.CLOSED) return
    close()
    void useSession().refresh()
    reconnectTimer = setTimeout(() => {
      if (users > 0 && useSession().me.value) open()
    }, backoffMs)
    backoffMs = Math.min(backoffMs * 2, 60_000)
  })
}

function close() {
  clearTimeout(reconnectTimer)
  source?.close()
  source = null
}

function onVisibility() {
  if (document.visibilityState !== 'visible') return
  notify(null)
  if (!source && users > 0) open()
}

function acquire() {
  if (users++ === 0) {
    wasOpen = false
    open()
    document.addEventListener('visibilitychange', onVisibility)
  }
}

function release() {
  if (--users === 0) {
    close()
    document.removeEventListener('visibilitychange', onVisibility)
  }
}

/**
 * Live updates of the person's applications. The signed-in shell holds the one EventSource open; screens pass
 * a handler that refetches what they show. Handlers also run when the page becomes visible again.
 */
export function useLiveEvents(handler?: LiveHandler): void {
  acquire()
  if (handler) handlers.add(handler)
  if (getCurrentScope()) {
    onScopeDispose(() => {
      if (handler) handlers.delete(handler)
      release()
    })
  }
}
