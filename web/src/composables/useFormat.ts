import { useI18n } from 'vue-i18n'

// Times are shown in Beijing time whatever the phone's zone: they are the agency's official times. China has
// kept UTC+8 all year since 1991, so the offset is a constant.
const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000
const MONTHS_EN = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
  'October', 'November', 'December']
const pad = (n: number) => String(n).padStart(2, '0')

// The app's two languages are written out by hand, as Intl would (2026年3月5日 / March 5, 2026): building an
// Intl formatter loads the locale's data, tens of milliseconds on a phone while the first screen is drawn.
// Any other language goes through Intl, one formatter per language and options.
const formats = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>()
function dateFormat(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `d|${locale}|${JSON.stringify(options)}`
  let format = formats.get(key) as Intl.DateTimeFormat | undefined
  if (!format) formats.set(key, (format = new Intl.DateTimeFormat(locale, options)))
  return format
}
function numberFormat(locale: string, digits: number): Intl.NumberFormat {
  const key = `n|${locale}|${digits}`
  let format = formats.get(key) as Intl.NumberFormat | undefined
  if (!format) formats.set(key, (format = new Intl.NumberFormat(locale, { maximumFractionDigits: digits })))
  return format
}

/** Dates and times in the app's language. */
export function useFormat() {
  const { locale } = useI18n()
  function date(value: string | null | undefined): string {
    if (!value) return ''
    const d = new Date(`${value.slice(0, 10)}T00:00:00Z`)
    if (Number.isNaN(d.getTime())) return value
    const [y, m, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()]
    if (locale.value === 'zh-CN') return `${y}年${m + 1}月${day}日`
    if (locale.value === 'en') return `${MONTHS_EN[m]} ${day}, ${y}`
    return dateFormat(locale.value, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' }).format(d)
  }
  /** Month and day only (a due date in a list): 3月5日, March 5. */
  function monthDay(value: string | null | undefined): string {
    if (!value) return ''
    const d = new Date(`${value.slice(0, 10)}T00:00:00Z`)
    if (Number.isNaN(d.getTime())) return value
    const [m, day] = [d.getUTCMonth(), d.getUTCDate()]
    if (locale.value === 'zh-CN') return `${m + 1}月${day}日`
    if (locale.value === 'en') return `${MONTHS_EN[m]} ${day}`
    return dateFormat(locale.value, { month: 'long', day: 'numeric', timeZone: 'UTC' }).format(d)
  }
  /** Date and time in Beijing time: 2026/03/05 17:07, 03/05/2026, 17:07. */
  function dateTime(value: string | null | undefined): string {
    if (!value) return ''
    const d = new Date(value)
    if (Number.isNaN(d.getTime())) return value
    const b = new Date(d.getTime() + BEIJING_OFFSET_MS)
    const [y, mm, dd] = [b.getUTCFullYear(), pad(b.getUTCMonth() + 1), pad(b.getUTCDate())]
    const time = `${pad(b.getUTCHours())}:${pad(b.getUTCMinutes())}`
    if (locale.value === 'zh-CN') return `${y}/${mm}/${dd} ${time}`
    if (locale.value === 'en') return `${mm}/${dd}/${y}, ${time}`
    return dateFormat(locale.value, {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hour12: false,
      timeZone: 'Asia/Shanghai',
    }).format(d)
  }
  /** A file size the way phones show it: 850 KB, 1.4 MB. */
  function fileSize(bytes: number): string {
    const number = (value: number, digits: number) => numberFormat(locale.value, digits).format(value)
    if (bytes < 1024 * 1024) return `${number(Math.max(1, Math.round(bytes / 1024)), 0)} KB`
    return `${number(bytes / (1024 * 1024), 1)} MB`
  }
  return { date, monthDay, dateTime, fileSize }
}
