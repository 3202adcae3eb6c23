import { rememberSignedOut } from './sessionHint'

/**
 * Sign in through the unified-authentication provider: a top-level navigation (not fetch); the BFF redirects
 * there and back to `next` (by default the page that asked).
 */
export function signIn(role: 'person' | 'employer', next = `${window.location.pathname}${window.location.search}`) {
  rememberSignedOut(false) // back from the provider, the app asks who is signed in
  window.location.assign(`/auth/login?role=${role}&next=${encodeURIComponent(next)}`)
}
