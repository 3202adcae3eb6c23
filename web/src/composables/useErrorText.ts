import { useI18n } from 'vue-i18n'
import { NETWORK_ERROR_CODE, type ApiError } from '@/api/result'

/** The sentence to show for an error: the server's own message when it sent one. */
export function useErrorText() {
  const { t } = useI18n()
  return (error: ApiError | null | undefined): string => {
    if (!error) return ''
    if (error.message) return error.message
    if (error.code === NETWORK_ERROR_CODE) return t('errors.network')
    if (error.status >= 500) return t('errors.server')
    return t('errors.generic')
  }
}
