/**
 * 居民身份证号码 (GB 11643-1999): 18 characters, the check character (0-9 or X) last, and a real birth date.
 * The BFF checks the same with python-stdnum; this only spares the person a round trip.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK = '10X98765432'

export function compactIdNumber(value: string): string {
  return value.replace(/\s/g, '').toUpperCase()
}

export function isValidIdNumber(value: string): boolean {
  const id = compactIdNumber(value)
  if (!/^\d{17}[\dX]$/.test(id)) return false
  const y = Number(id.slice(6, 10))
  const m = Number(id.slice(10, 12))
  const d = Number(id.slice(12, 14))
  const birth = new Date(Date.UTC(y, m - 1, d))
  if (birth.getUTCFullYear() !== y || birth.getUTCMonth() !== m - 1 || birth.getUTCDate() !== d) return false
  let total = 0
  for (let i = 0; i < 17; i++) total += Number(id[i]) * WEIGHTS[i]!
  return id[17] === CHECK[total % 11]
}
