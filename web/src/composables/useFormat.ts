import { useI18n } from 'vue-i18n'

// Times are shown in Beijing time whatever the phone's zone: they are the agency's official times.
const ZONE = 'Asia/Shanghai'

/** Dates and times in the app's language. */
export function useFormat() {
  const { locale } = useI18n()
  function date(value: string | null | undefined): string {
    if (!value) return ''
    const d = new Date(`${value.slice(0, 10)}T00:00:00Z`)
    if (Number.isNaN(d.getTime())) return value
    return new Intl.DateTimeFormat(locale.value, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(d)
  }
  /** Month and day only (a due date in a list): 3月5日, March 5. */
  function monthDay(value: string | null | undefined): string {
    if (!value) return ''
    const d = new Date(`${value.slice(0, 10)}T00:00:00Z`)
    if (Number.isNaN(d.getTime())) return value
    return new Intl.DateTimeFormat(locale.value, { month: 'long', day: 'numeric', timeZone: 'UTC' }).format(d)
  }
  function dateTime(value: string | null | undefined): string {
    if (!value) return ''
    const d = new Date(value)
    if (Number.isNaN(d.getTime())) return value
    return new Intl.DateTimeFormat(locale.value, {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
      timeZone: ZONE,
    }).format(d)
  }
  /** A file size the way phones show it: 850 KB, 1.4 MB. */
  function fileSize(bytes: number): string {
    const number = (value: number, digits: number) =>
      new Intl.NumberFormat(locale.value, { maximumFractionDigits: digits }).format(value)
    if (bytes < 1024 * 1024) return `${number(Math.max(1, Math.round(bytes / 1024)), 0)} KB`
    return `${number(bytes / (1024 * 1024), 1)} MB`
  }
  return { date, monthDay, dateTime, fileSize }
}
