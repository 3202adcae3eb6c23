import type { TagType } from 'vant'

/** Tag colour of an application status; statuses the PWA does not know yet get a neutral tag. */
export function statusTagType(status: string): TagType {
  switch (status) {
    case 'completed':
    case 'certificate_issued':
      return 'success'
    case 'refused':
    case 'letter_declined':
    case 'cannot_receive':
    case 'cannot_send':
    case 'returned':
    case 'return_confirmed':
      return 'danger'
    case 'accepted':
    case 'awaiting_confirmation':
    case 'awaiting_unit':
    case 'awaiting_material':
    case 'needs_material':
      return 'warning'
    case 'submitted':
    case 'forwarded':
    case 'confirmed':
    case 'letter_requested':
    case 'material_attached':
    case 'started_by_unit':
    case 'letter_issued':
    case 'sent':
    case 'received':
      return 'primary'
    default:
      // cancelled, withdrawn, and anything new
      return 'default'
  }
}

/** Tag colour of one needed piece of material (MaterialState.state) or of a letter request (its state). */
export function materialTagType(state: string): TagType {
  switch (state) {
    case 'attached':
    case 'fulfilled':
      return 'success'
    case 'declined':
    case 'expired':
      return 'danger'
    case 'requested':
    case 'open':
      return 'primary'
    case 'missing':
      return 'warning'
    default:
      return 'default'
  }
}

/** Statuses that end an application otherwise than asked (a transfer's exceptions, SPEC §3). */
const STOPPED = new Set(['cannot_receive', 'cannot_send', 'returned', 'return_confirmed'])

/** True when the status ends a transfer before the archive arrived (the timeline marks it as stopped). */
export function isStopped(status: string): boolean {
  return STOPPED.has(status)
}

/** Statuses that close an application neither done nor refused: nothing more will happen to it. */
const CLOSED = new Set(['withdrawn', 'cancelled', 'revoked'])

/** True when the application was withdrawn, cancelled or its certificate revoked (the timeline marks it ended). */
export function isClosed(status: string): boolean {
  return CLOSED.has(status)
}
