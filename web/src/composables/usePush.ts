import { computed, onMounted, onScopeDispose, ref, shallowRef } from 'vue'
import { api } from '@/api/client'
import { call, NETWORK_ERROR_CODE, type ApiError } from '@/api/result'
import type { components } from '@/api/schema'

export type NotificationSettings = components['schemas']['NotificationSettings']

/** Why push cannot be switched on here (the person still gets an SMS). */
export type PushBlocker = 'unsupported' | 'denied' | null

const READY_TIMEOUT_MS = 10_000

function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' &&
    window.isSecureContext &&
    'serviceWorker' in navigator &&
    'PushManager' in window &&
    'Notification' in window
  )
}

/** The VAPID key as PushManager.subscribe wants it (base64url → bytes). */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = (base64url + '='.repeat((4 - (base64url.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/')
  const raw = atob(base64)
  const bytes = new Uint8Array(new ArrayBuffer(raw.length))
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i)
  return bytes
}

function sameKey(current: ArrayBuffer | null | undefined, wanted: Uint8Array): boolean {
  if (!current) return false
  const have = new Uint8Array(current)
  return have.length === wanted.length && have.every((b, i) => b === wanted[i])
}

/** The service worker's registration; in development (no service worker) `ready` never settles, so time out. */
async function registration(): Promise<ServiceWorkerRegistration | null> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), READY_TIMEOUT_MS)
  })
  try {
    return await Promise.race([navigator.serviceWorker.ready, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Stops Web Push on this device and tells the BFF while the session still stands. Sign-out calls it, so the next
 * person to use the phone is not told of the previous one's applications. Reads the registration without waiting
 * for `ready` (none in development), so it never holds sign-out up.
 */
export async function stopPushOnThisDevice(): Promise<void> {
  if (!pushSupported()) return
  const reg = await navigator.serviceWorker.getRegistration()
  const subscription = reg ? await reg.pushManager.getSubscription() : null
  if (!subscription) return
  const endpoint = subscription.endpoint
  await subscription.unsubscribe() // this device stops receiving at once
  try {
    await api.DELETE('/api/notifications/push-subscriptions', { body: { endpoint } })
  } catch {
    // the push service now answers 410 for it, and the BFF drops it on the next message
  }
}

function localError(code: string): ApiError {
  return { status: 0, code, message: '', fields: {} }
}

/**
 * Web Push on this device: whether it is on (read from the browser's own subscription, so nothing is kept in
 * storage), switching it on (permission → PushManager.subscribe with the portal's VAPID key → saved by the BFF)
 * and off (unsubscribe → removed from the BFF). SMS goes on regardless.
 */
export function usePush() {
  const supported = pushSupported()
  const permission = ref<NotificationPermission>(supported ? Notification.permission : 'default')
  const subscribed = ref(false)
  const busy = ref(false)
  const error = shallowRef<ApiError | null>(null)
  const settings = shallowRef<NotificationSettings | null>(null)

  const blocker = computed<PushBlocker>(() => {
    if (!supported) return 'unsupported'
    if (permission.value === 'denied') return 'denied'
    return null
  })

  async function loadSettings(): Promise<void> {
    const result = await call(() => api.GET('/api/notifications/settings'))
    if (result.ok) settings.value = result.data
  }

  async function current(): Promise<PushSubscription | null> {
    const reg = await registration()
    return reg ? reg.pushManager.getSubscription() : null
  }

  /** Reads the state from the browser (and where SMS go from the BFF). */
  async function refresh(): Promise<void> {
    if (supported) {
      permission.value = Notification.permission
      try {
        subscribed.value = permission.value === 'granted' && (await current()) !== null
      } catch {
        subscribed.value = false
      }
    }
    await loadSettings()
  }

  async function enable(): Promise<boolean> {
    if (!supported || busy.value) return false
    busy.value = true
    error.value = null
    try {
      permission.value = await Notification.requestPermission()
      if (permission.value !== 'granted') return false
      const key = await call(() => api.GET('/api/notifications/push-key'))
      if (!key.ok) {
        error.value = key.error
        return false
      }
      const reg = await registration()
      if (!reg) {
        error.value = localError('no_service_worker')
        return false
      }
      const applicationServerKey = keyBytes(key.data.public_key)
      let existing = await reg.pushManager.getSubscription()
      if (existing && !sameKey(existing.options.applicationServerKey, applicationServerKey)) {
        await existing.unsubscribe() // made with another key: the push service would refuse our messages
        existing = null
      }
      const subscription =
        existing ?? (await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey }))
      const keys = subscription.toJSON().keys ?? {}
      const body = { endpoint: subscription.endpoint, keys: { p256dh: keys.p256dh ?? '', auth: keys.auth ?? '' } }
      const saved = await call(() => api.POST('/api/notifications/push-subscriptions', { body }))
      if (!saved.ok) {
        error.value = saved.error
        if (saved.error.status === 422) await subscription.unsubscribe() // this push service is not accepted
        return false
      }
      settings.value = saved.data
      subscribed.value = true
      return true
    } catch {
      error.value = localError('subscribe_failed')
      return false
    } finally {
      busy.value = false
    }
  }

  async function disable(): Promise<boolean> {
    if (!supported || busy.value) return false
    busy.value = true
    error.value = null
    try {
      await stopPushOnThisDevice()
      subscribed.value = false
      await loadSettings()
      return true
    } catch {
      error.value = localError(NETWORK_ERROR_CODE)
      return false
    } finally {
      busy.value = false
    }
  }

  // Coming back from the browser's settings (where a blocked permission is allowed again): read the state anew.
  function onVisible() {
    if (document.visibilityState === 'visible' && !busy.value) void refresh()
  }
  onMounted(() => {
    void refresh()
    document.addEventListener('visibilitychange', onVisible)
  })
  onScopeDispose(() => document.removeEventListener('visibilitychange', onVisible))
  return { supported, permission, subscribed, busy, error, settings, blocker, refresh, enable, disable }
}
