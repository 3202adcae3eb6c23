import type { TagType } from 'vant'

/** Tag colour of an application status; statuses the PWA does not know yet get a neutral tag. */
export function statusTagType(status: string): TagType {
  switch (status) {
    case 'completed':
    case 'certificate_issued':
      return 'success'
    case 'refused':
      return 'danger'
    case 'accepted':
      return 'warning'
    case 'submitted':
    case 'forwarded':
      return 'primary'
    default:
      return 'default'
  }
}

