import { ref, shallowRef, type Ref } from 'vue'
import { api } from '@/api/client'
import { call, type ApiError } from '@/api/result'
import type { ApplicationCreate, MaterialChoice, RatingCreate, Requirements, TargetNature } from '@/api/types'
import { useResource } from './useResource'
import { saveOfflineList } from '@/lib/offlineApplications'
import { useLiveEvents } from './useLiveEvents'

/** 我的申请, newest first; refetched when the server says one of them changed. Each answer also becomes the
 * offline copy of the list (lib/offlineApplications.ts). */
export function useApplications() {
  const resource = useResource(async () => {
    const result = await call(() => api.GET('/api/applications'))
    if (result.ok) void saveOfflineList(result.data.items)
    return result
  })
  useLiveEvents(() => void resource.reload({ silent: true }))
  return resource
}

/** One application with its timeline; refetched when the server says it changed. */
export function useApplication(id: Ref<string>) {
  const resource = useResource(
    () => call(() => api.GET('/api/applications/{application_id}', { params: { path: { application_id: id.value } } })),
    { watch: id },
  )
  useLiveEvents((event) => {
    if (!event || event.id === id.value) void resource.reload({ silent: true })
  })
  return resource
}

/** Submits an application; `draftId` is the Idempotency-Key, the same for every retry of this draft. */
export function submitApplication(draftId: string, body: ApplicationCreate) {
  return call(() =>
    api.POST('/api/applications', {
      params: { header: { 'Idempotency-Key': draftId } },
      body,
    }),
  )
}

/** What an application of this kind needs, all at once (SPEC §5: 一次性告知). */
export function useRequirements(kind: ApplicationCreate['kind']) {
  return useResource(() => call(() => api.GET('/api/applications/requirements', { params: { query: { kind } } })))
}

/** What a transfer's letters depend on: the 拟存档性质, and the new employer when it is 单位委托. */
export interface TransferNeedsQuery {
  target_nature: TargetNature
  unit_name?: string
  unit_uscc?: string
}

/**
 * What a transfer needs, all at once (SPEC §5): the new employer's letter when the target is 单位委托, the
 * current employer's when the archive is held as 单位委托. Loaded once the 拟存档性质 is known; asking again
 * with the same answers keeps what was already fetched.
 */
export function useTransferRequirements() {
  const data = shallowRef<Requirements | null>(null)
  const error = shallowRef<ApiError | null>(null)
  const loading = ref(false)
  let loadedKey = ''
  let last: TransferNeedsQuery | null = null
  let generation = 0

  async function load(query: TransferNeedsQuery): Promise<void> {
    const key = JSON.stringify(query)
    last = query
    if (key === loadedKey && data.value) {
      // an answer still on its way for other answers must not replace this one
      generation++
      loading.value = false
      error.value = null
      return
    }
    const mine = ++generation
    loading.value = true
    error.value = null
    const result = await call(() =>
      api.GET('/api/applications/requirements', { params: { query: { kind: 'archive_transfer', ...query } } }),
    )
    if (mine !== generation) return
    loading.value = false
    if (result.ok) {
      data.value = result.data
      loadedKey = key
    } else {
      data.value = null
      loadedKey = ''
      error.value = result.error
    }
  }

  function reload(): Promise<void> {
    return last ? load(last) : Promise.resolve()
  }

  return { data, error, loading, load, reload }
}

/** From the agency holding my archive to the one chosen, with the 接转流向 (422 when it is the same one). */
export function getTransferRoute(targetAgencyCode: string) {
  return call(() =>
    api.GET('/api/applications/transfer-route', { params: { query: { target_agency_code: targetAgencyCode } } }),
  )
}

/** 撤回: only before the agency accepts it (409 afterwards, with the server's sentence). */
export function withdrawApplication(id: string) {
  return call(() =>
    api.POST('/api/applications/{application_id}/withdraw', { params: { path: { application_id: id } } }),
  )
}

/** 好差评, once, after the application ended. */
export function rateApplication(id: string, body: RatingCreate) {
  return call(() =>
    api.POST('/api/applications/{application_id}/rating', { params: { path: { application_id: id } }, body }),
  )
}

/** Material still missing: an upload instead, or a request to a unit (again). */
export function addMaterials(id: string, materials: MaterialChoice[]) {
  return call(() =>
    api.POST('/api/applications/{application_id}/materials', {
      params: { path: { application_id: id } },
      body: { materials },
    }),
  )
}

/** Agrees to a transfer a unit started; `materials` only when the answer said something is missing. */
export function confirmApplication(id: string, materials: MaterialChoice[] = []) {
  return call(() =>
    api.POST('/api/applications/{application_id}/confirm', {
      params: { path: { application_id: id } },
      body: { materials },
    }),
  )
}

/** Refuses a transfer a unit started. */
export function declineApplication(id: string) {
  return call(() =>
    api.POST('/api/applications/{application_id}/decline', { params: { path: { application_id: id } } }),
  )
}
