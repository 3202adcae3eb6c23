import { createRouter, createWebHistory, START_LOCATION } from 'vue-router'
import { routes, handleHotUpdate } from 'vue-router/auto-routes'

/** History-mode router over the file-based, typed routes in src/pages. */
export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  // nothing to scroll on the first page of a visit (scrolling forces a layout in the middle of the first render)
  scrollBehavior: (_to, from, saved) => saved ?? (from === START_LOCATION ? false : { top: 0 }),
})

if (import.meta.hot) handleHotUpdate(router)
