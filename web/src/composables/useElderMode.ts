import { readonly, ref } from 'vue'

/**
 * 长辈模式 (适老化): larger text, larger touch targets (at least 48px) and stronger contrast, for everyone who
 * switches it on — on the sign-in screen as well as signed in. It is a class on <html> (`elder`) that sets the
 * app's and Vant's CSS variables (src/styles/elder.css); one stylesheet, no second theme.
 *
 * The choice is kept on this device (localStorage) because it is about the phone's reader, not about the person
 * signed in: it holds no personal data and outlives sign-out (`KEPT_KEYS` in src/lib/personalData.ts).
 */
export const ELDER_STORAGE_KEY = 'portal.elder'
export const ELDER_CLASS = 'elder'

const on = ref(false)

function apply(value: boolean): void {
  on.value = value
  document.documentElement.classList.toggle(ELDER_CLASS, value)
}

/** Applies a saved choice before the app is mounted, so the first paint is already in the right size. */
export function restoreElderMode(): void {
  let saved: string | null = null
  try {
    saved = window.localStorage.getItem(ELDER_STORAGE_KEY)
  } catch {
    // storage unavailable (private mode): the standard size
  }
  apply(saved === '1')
}

export function useElderMode() {
  function set(value: boolean): void {
    apply(value)
    try {
      if (value) window.localStorage.setItem(ELDER_STORAGE_KEY, '1')
      else window.localStorage.removeItem(ELDER_STORAGE_KEY)
    } catch {
      // not kept: it still applies until the page is closed
    }
  }
  return { on: readonly(on), set, toggle: () => set(!on.value) }
}
