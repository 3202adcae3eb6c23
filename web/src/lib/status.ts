import type { TagType } from 'vant'

/** Tag colour of an application status; statuses the PWA does not know yet get a neutral tag. */
export function statusTagType(status: string): TagType {
  switch (status) {
    case 'completed':
    case 'certificate_issued':
      return 'success'
    case 'refused':
    case 'letter_declined':
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
      return 'primary'
    default:
      // cancelled, and anything new
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
