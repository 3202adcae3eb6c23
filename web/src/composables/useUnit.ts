import type { Ref } from 'vue'
import { api } from '@/api/client'
import { call } from '@/api/result'
import type { NewHireTransfer } from '@/api/types'
import { useResource } from './useResource'
import { useLiveEvents } from './useLiveEvents'

/** Letter requests naming the signed-in unit; refetched when one comes or goes. */
export function useUnitRequests() {
  const resource = useResource(() => call(() => api.GET('/api/unit/requests')))
  useLiveEvents(() => void resource.reload({ silent: true }))
  return resource
}

/** One request by its code (from the link sent to HR, or typed in). */
export function useUnitRequest(code: Ref<string>) {
  const resource = useResource(
    () => call(() => api.GET('/api/unit/requests/{code}', { params: { path: { code: code.value } } })),
    { watch: code },
  )
  useLiveEvents(() => void resource.reload({ silent: true }))
  return resource
}

/** Applications the unit started (transfers of new hires). */
export function useUnitApplications() {
  const resource = useResource(() => call(() => api.GET('/api/unit/applications')))
  useLiveEvents(() => void resource.reload({ silent: true }))
  return resource
}

/** One letter for one or several requests. */
export function fulfilRequests(documentId: string, codes: string[]) {
  return call(() => api.POST('/api/unit/requests/fulfil', { body: { document_id: documentId, codes } }))
}

/** Declines a request; the applicant reads the reason. */
export function declineRequest(code: string, reason: string) {
  return call(() =>
    api.POST('/api/unit/requests/{code}/decline', { params: { path: { code } }, body: { reason } }),
  )
}

/** Starts a transfer for a new hire; `draftId` is the Idempotency-Key of every attempt of this form. */
export function startTransfer(draftId: string, body: NewHireTransfer) {
  return call(() =>
    api.POST('/api/unit/transfers', { params: { header: { 'Idempotency-Key': draftId } }, body }),
  )
}

/** The agency directory (机构查询), optionally by province and a part of the name. */
export function listAgencies(query: { province?: string; q?: string } = {}) {
  return call(() =>
    api.GET('/api/agencies', {
      params: { query: { province: query.province || undefined, q: query.q || undefined } },
    }),
  )
}

/** 2 to 200 characters, as the BFF requires for a refusal's reason. */
export const REASON_MIN = 2
export const REASON_MAX = 200
