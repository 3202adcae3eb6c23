import { onMounted, ref, shallowRef, watch, type WatchSource } from 'vue'
import type { ApiError, Result } from '@/api/result'

export interface ReloadOptions {
  /** keep what is shown while refetching (live updates, pull-to-refresh) */
  silent?: boolean
}

/**
 * One fetched thing for a screen: `data`, `error`, `loading`, `reload()`. A silent reload that fails keeps the
 * data already shown rather than blanking the screen. Answers that arrive out of order are dropped.
 */
export function useResource<T>(load: () => Promise<Result<T>>, options: { watch?: WatchSource } = {}) {
  const data = shallowRef<T | null>(null)
  const error = shallowRef<ApiError | null>(null)
  const loading = ref(false)
  let generation = 0

  async function reload({ silent = false }: ReloadOptions = {}): Promise<void> {
    const mine = ++generation
    if (!silent) {
      loading.value = true
      error.value = null
    }
    const result = await load()
    if (mine !== generation) return
    loading.value = false
    if (result.ok) {
      data.value = result.data
      error.value = null
    } else if (!silent || data.value === null) {
      data.value = null
      error.value = result.error
    }
  }

  onMounted(() => void reload())
  if (options.watch) watch(options.watch, () => void reload())
  return { data, error, loading, reload }
}
