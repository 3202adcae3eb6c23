import { useI18n } from 'vue-i18n'
import { NETWORK_ERROR_CODE, type ApiError } from '@/api/result'
import { i18n } from '@/i18n'

type Translate = (key: string) => string

function textOf(error: ApiError | null | undefined, t: Translate): string {
  if (!error) return ''
  if (error.message) return error.message
  if (error.code === NETWORK_ERROR_CODE) return t('errors.network')
  if (error.status >= 500) return t('errors.server')
  return t('errors.generic')
}

/** The sentence to show for an error: the server's own message when it sent one. */
export function useErrorText() {
  const { t } = useI18n()
  return (error: ApiError | null | undefined): string => textOf(error, t)
}

/** The same, outside a component's setup (e.g. in an upload started later). */
export function errorMessage(error: ApiError | null | undefined): string {
  return textOf(error, (key) => i18n.global.t(key))
}
