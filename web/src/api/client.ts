/**
 * The one typed client of the BFF's same-origin JSON API. Types come only from `schema.d.ts`, generated from
 * `openapi.json` (`npm run gen:api`); nothing here restates the API by hand.
 */
import createClient, { type Middleware } from 'openapi-fetch'
import type { paths } from './schema'

type Listener = () => void
const unauthenticatedListeners = new Set<Listener>()

/** Called whenever any API answer is 401: the session is gone, so the app shows the sign-in screen. */
export function onUnauthenticated(listener: Listener): () => void {
  unauthenticatedListeners.add(listener)
  return () => unauthenticatedListeners.delete(listener)
}

/** Tells the app the session is gone (also used by requests made outside openapi-fetch, e.g. uploads). */
export function notifyUnauthenticated(): void {
  unauthenticatedListeners.forEach((listener) => listener())
}

const sessionMiddleware: Middleware = {
  onResponse({ response }) {
    if (response.status === 401) notifyUnauthenticated()
    return undefined
  },
}

export const api = createClient<paths>({
  baseUrl: '',
  credentials: 'same-origin',
  cache: 'no-store',
  headers: { Accept: 'application/json' },
})
api.use(sessionMiddleware)
