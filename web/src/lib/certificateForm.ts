/**
 * The answers a certificate or 政审 application asks for beyond purpose and phone (领取方式, 邮寄地址, 亲属, 政审单位),
 * as in-memory drafts, checked here the way the BFF checks them. Errors are keyed by the server's field names
 * (`post_address.postcode`, `relative.relation`, `review.unit.uscc`, …) so that the browser's and the server's
 * messages land under the same field.
 */
import type { components } from '@/api/schema'
import { compactUscc, usccProblem } from '@/lib/uscc'

type Schemas = components['schemas']
export type AnyKind = Schemas['UnitCertificateApplication']['kind']
export type CertificateKind = Exclude<AnyKind, 'political_review'>
export type Delivery = Schemas['ApplicationCreate']['delivery']
export type ReviewPurpose = Schemas['ReviewCreate']['purpose']
export type PostAddress = Schemas['PostAddress']
export type RelativeCreate = Schemas['RelativeCreate']
export type ReviewCreate = Schemas['ReviewCreate']

export const CERTIFICATE_KINDS: readonly CertificateKind[] = [
  'archive_certificate',
  'experience_certificate',
  'kinship_certificate',
  'no_criminal_record',
]
export const DELIVERIES: readonly Delivery[] = ['electronic', 'post', 'pickup']
export const REVIEW_PURPOSES: readonly ReviewPurpose[] = ['party', 'military', 'employment', 'abroad']
/** GB/T 4761 家庭关系代码, in the order a person looks for them */
export const RELATIONS = ['10', '51', '52', '20', '30', '71', '73', '75', '77'] as const

export function isCertificateKind(value: unknown): value is CertificateKind {
  return typeof value === 'string' && (CERTIFICATE_KINDS as readonly string[]).includes(value)
}

export type Translate = (key: string, named?: Record<string, unknown>) => string
export type FieldErrors = Record<string, string>

export const MOBILE = /^1[3-9]\d{9}$/
const LANDLINE = /^[0-9-]{1,20}$/
const POSTCODE = /^\d{6}$/

// ── 邮寄地址 ──

export interface PostDraft {
  recipient: string
  phone: string
  /** GB/T 2260 county-level code */
  regionCode: string
  /** 省 市 区县, as shown */
  regionName: string
  address: string
  postcode: string
}

export function emptyPost(): PostDraft {
  return { recipient: '', phone: '', regionCode: '', regionName: '', address: '', postcode: '' }
}

export function checkPost(post: PostDraft, t: Translate): FieldErrors {
  const found: FieldErrors = {}
  if (!post.recipient.trim()) found['post_address.recipient'] = t('post.errors.recipient')
  if (!MOBILE.test(post.phone.trim())) found['post_address.phone'] = t('post.errors.phone')
  if (!post.regionCode) found['post_address.region_code'] = t('post.errors.region')
  if (!post.address.trim()) found['post_address.address'] = t('post.errors.address')
  if (!POSTCODE.test(post.postcode.trim())) found['post_address.postcode'] = t('post.errors.postcode')
  return found
}

export function postBody(post: PostDraft): PostAddress {
  return {
    recipient: post.recipient.trim(),
    phone: post.phone.trim(),
    region_code: post.regionCode,
    address: post.address.trim(),
    postcode: post.postcode.trim(),
  }
}

/** The address as one line, the phone partly hidden (check-your-answers). */
export function postLine(post: PostDraft): string {
  return `${post.regionName} ${post.address.trim()}`.trim()
}

// ── 亲属 (亲属关系证明) ──

export interface RelativeDraft {
  relation: string
  name: string
}

export function checkRelative(relative: RelativeDraft, t: Translate): FieldErrors {
  const found: FieldErrors = {}
  if (!relative.relation) found['relative.relation'] = t('relative.errors.relation')
  if (!relative.name.trim()) found['relative.name'] = t('relative.errors.name')
  return found
}

// ── 政审单位 ──

export interface ReviewDraft {
  purpose: ReviewPurpose | ''
  unitName: string
  uscc: string
  contactName: string
  contactPhone: string
}

export function emptyReview(): ReviewDraft {
  return { purpose: '', unitName: '', uscc: '', contactName: '', contactPhone: '' }
}

export function checkReview(review: ReviewDraft, t: Translate): FieldErrors {
  const found: FieldErrors = {}
  if (!review.purpose) found['review.purpose'] = t('review.errors.purpose')
  if (!review.unitName.trim()) found['review.unit.name'] = t('review.errors.unitName')
  else if (review.unitName.trim().length > 300) found['review.unit.name'] = t('materials.errors.unitNameLong')
  const problem = usccProblem(review.uscc)
  if (problem) found['review.unit.uscc'] = t(`materials.errors.uscc.${problem}`)
  if (!review.contactName.trim()) found['review.contact_name'] = t('review.errors.contactName')
  const phone = review.contactPhone.replace(/\s/g, '')
  if (!phone) found['review.contact_phone'] = t('review.errors.contactPhone')
  else if (!LANDLINE.test(phone)) found['review.contact_phone'] = t('review.errors.contactPhoneInvalid')
  return found
}

export function reviewBody(review: ReviewDraft): ReviewCreate {
  return {
    purpose: review.purpose as ReviewPurpose,
    unit: { name: review.unitName.trim(), uscc: compactUscc(review.uscc) },
    contact_name: review.contactName.trim(),
    contact_phone: review.contactPhone.replace(/\s/g, ''),
  }
}

// ── shared ──

/** The errors without `name` and every field under it (`post_address` also clears `post_address.phone`). */
export function withoutField(errors: FieldErrors, name: string): FieldErrors {
  const rest: FieldErrors = {}
  for (const [key, message] of Object.entries(errors)) {
    if (key !== name && !key.startsWith(`${name}.`) && !name.startsWith(`${key}.`)) rest[key] = message
  }
  return rest
}

/** The first message among these fields (the most specific first), for one place on the form. */
export function firstError(errors: FieldErrors, ...names: string[]): string | undefined {
  for (const name of names) if (errors[name]) return errors[name]
  return undefined
}

/** 110105199805120012 → 110105********0012 */
export function maskIdNumber(id: string): string {
  return id.length === 18 ? `${id.slice(0, 6)}********${id.slice(14)}` : id
}

/** 13800138000 → 138****8000 */
export function maskPhone(phone: string): string {
  return phone.length === 11 ? `${phone.slice(0, 3)}****${phone.slice(7)}` : phone
}
