import type { Ref } from 'vue'
import { api } from '@/api/client'
import { call } from '@/api/result'
import type { ApplicationCreate, MaterialChoice } from '@/api/types'
import { useResource } from './useResource'
import { useLiveEvents } from './useLiveEvents'

/** 我的申请, newest first; refetched when the server says one of them changed. */
export function useApplications() {
  const resource = useResource(() => call(() => api.GET('/api/applications')))
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
