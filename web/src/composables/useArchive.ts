import { api } from '@/api/client'
import { call } from '@/api/result'
import { useResource } from './useResource'

/** 我的档案: where the person's archive is held (`GET /api/archive`). */
export function useArchive() {
  return useResource(() => call(() => api.GET('/api/archive')))
}
