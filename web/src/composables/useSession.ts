import { computed, readonly, shallowRef } from 'vue'
import { api, onUnauthenticated } from '@/api/client'
import { call, type ApiError } from '@/api/result'
import type { Me } from '@/api/types'
import { forgetPersonalData } from '@/lib/personalData'

export type SessionState =
  | { status: 'loading' }
  | { status: 'signedOut' }
  | { status: 'signedIn'; me: Me }
  | { status: 'error'; error: ApiError }

const state = shallowRef<SessionState>({ status: 'loading' })

// Any 401 from any call means the session is gone: show the sign-in screen, and keep nothing of the person.
onUnauthenticated(() => {
  state.value = { status: 'signedOut' }
  void forgetPersonalData()
})

async function refresh(): Promise<void> {
  const result = await call(() => api.GET('/api/me'))
  if (result.ok) state.value = { status: 'signedIn', me: result.data }
  else if (result.error.status === 401) state.value = { status: 'signedOut' }
  else if (state.value.status !== 'signedIn') state.value = { status: 'error', error: result.error }
}

/** Who is signed in (from `GET /api/me`); the whole app switches on this. */
export function useSession() {
  const me = computed(() => (state.value.status === 'signedIn' ? state.value.me : null))
  return { state: readonly(state), me, refresh }
}
