import { watchEffect } from 'vue'
import { useI18n } from 'vue-i18n'

/** Sets the document title (what screen readers and the task switcher show) for the current screen. */
export function usePageTitle(title: () => string) {
  const { t } = useI18n()
  watchEffect(() => {
    document.title = `${title()} - ${t('app.title')}`
  })
}
