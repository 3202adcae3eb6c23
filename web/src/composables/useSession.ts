import { computed, readonly, shallowRef } from 'vue'
import { api, onUnauthenticated } from '@/api/client'
import { call, type ApiError } from '@/api/result'
import type { Me } from '@/api/types'
import { forgetPersonalData } from '@/lib/personalData'
import { knownSignedOut, rememberSignedOut } from '@/lib/sessionHint'

export type SessionState =
  | { status: 'loading' }
  | { status: 'signedOut' }
  | { status: 'signedIn'; me: Me }
  | { status: 'error'; error: ApiError }

const state = shallowRef<SessionState>({ status: 'loading' })

// Any 401 from any call means the session is gone: show the sign-in screen, and keep nothing of the person.
onUnauthenticated(() => {
  state.value = { status: 'signedOut' }
  rememberSignedOut(true)
  void forgetPersonalData()
})

// The boot's `GET /api/me`, started by main.ts while the first screen's code is still loading; the first
// refresh() (App's mount) takes it over instead of asking again.
let booting: Promise<void> | null = null

/** Asks who is signed in at once, in parallel with the router loading the first screen; a browser known to be
 * signed out (lib/sessionHint.ts) goes straight to the sign-in screen, forgetting what a 401 would forget. */
export function startSession(): void {
  if (knownSignedOut()) {
    state.value = { status: 'signedOut' }
    booting = forgetPersonalData()
  } else booting = load()
}

function refresh(): Promise<void> {
  const pending = booting
  booting = null
  return pending ?? load()
}

async function load(): Promise<void> {
  const result = await call(() => api.GET('/api/me'))
  if (result.ok) state.value = { status: 'signedIn', me: result.data }
  if (result.ok || result.error.status === 401) rememberSignedOut(!result.ok)
  if (result.ok) return
  if (result.error.status === 401) state.value = { status: 'signedOut' }
  else if (state.value.status !== 'signedIn') state.value = { status: 'error', error: result.error }
}

/** Who is signed in (from `GET /api/me`); the whole app switches on this. */
export function useSession() {
  const me = computed(() => (state.value.status === 'signedIn' ? state.value.me : null))
  return { state: readonly(state), me, refresh }
}
