/**
 * Whether this browser is known to be signed out, so that the sign-in screen shows without asking `GET /api/me`
 * (a 401 costs a round trip on a slow network and is logged as an error in the browser's console).
 *
 * The BFF sets the cookie when it serves the app shell to a browser without a session (bff/lib/web.py) and
 * deletes it for one with a session; the app sets it after a 401 and deletes it when sign-in starts, so a shell
 * served by the service worker reads the same. It says nothing about who: the value is always 1.
 */
export const SIGNED_OUT_COOKIE = '__Host-portal_signed_out'

export function knownSignedOut(): boolean {
  return document.cookie.split(';').some((pair) => pair.trim() === `${SIGNED_OUT_COOKIE}=1`)
}

export function rememberSignedOut(signedOut: boolean): void {
  const attributes = 'Path=/; Secure; SameSite=Lax'
  document.cookie = signedOut
    ? `${SIGNED_OUT_COOKIE}=1; ${attributes}`
    : `${SIGNED_OUT_COOKIE}=; Max-Age=0; ${attributes}`
}
