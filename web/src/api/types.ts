/** Short names for the generated schema types (aliases only: the shapes live in schema.d.ts). */
import type { components } from './schema'

type Schemas = components['schemas']
export type Me = Schemas['Me']
export type MyArchive = Schemas['MyArchive']
export type AgencyInfo = Schemas['AgencyInfo']
export type ApplicationCreate = Schemas['ApplicationCreate']
export type ApplicationSummary = Schemas['ApplicationSummary']
export type ApplicationList = Schemas['ApplicationList']
export type ApplicationDetail = Schemas['ApplicationDetail']
export type TimelineEntry = Schemas['TimelineEntry']
export type CertificateInfo = Schemas['CertificateInfo']
export type ErrorBody = Schemas['ErrorBody']
