import { computed } from 'vue'
import { Locale } from 'vant'
import vantZhCN from 'vant/es/locale/lang/zh-CN'
import { DEFAULT_LOCALE, i18n, LOCALES, type AppLocale } from '@/i18n'

// Kept in the browser's storage: the language choice (never personal data; it outlives sign-out).
export const LOCALE_STORAGE_KEY = 'portal.locale'
let vantEn: Record<string, unknown> | undefined

function isAppLocale(value: unknown): value is AppLocale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

async function applyLocale(locale: AppLocale): Promise<void> {
  if (locale === 'en' && !vantEn) {
    const [{ default: en }, { default: vant }] = await Promise.all([
      import('@/i18n/en'),
      import('vant/es/locale/lang/en-US'),
    ])
    i18n.global.setLocaleMessage('en', en)
    vantEn = vant
  }
  i18n.global.locale.value = locale
  // Vant's own texts (loading, pull-to-refresh, …) follow the app's language
  if (locale === 'en' && vantEn) Locale.use('en-US', vantEn)
  else Locale.use('zh-CN', vantZhCN)
  document.documentElement.lang = locale
}

/** Restores a saved language choice before the first render (Chinese when there is none). */
export async function restoreLocale(): Promise<void> {
  let saved: string | null = null
  try {
    saved = window.localStorage.getItem(LOCALE_STORAGE_KEY)
  } catch {
    // storage may be unavailable (private mode): Chinese it is
  }
  if (isAppLocale(saved) && saved !== DEFAULT_LOCALE) await applyLocale(saved)
}

export function useLocale() {
  const locale = computed(() => i18n.global.locale.value)
  async function setLocale(next: AppLocale) {
    await applyLocale(next)
    try {
      window.localStorage.setItem(LOCALE_STORAGE_KEY, next)
    } catch {
      // not essential
    }
  }
  function toggle() {
    return setLocale(locale.value === 'zh-CN' ? 'en' : 'zh-CN')
  }
  return { locale, setLocale, toggle }
}
