/**
 * 统一社会信用代码 (GB 32100-2015): 18 characters, the check character last. The same rule as the BFF
 * (python-stdnum's `cn.uscc`), so the person hears about a typo before submitting.
 */
const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY'
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

export type UsccProblem = 'empty' | 'format' | 'checksum'

/** Upper case, without spaces or dashes: what the person meant to type. */
export function compactUscc(value: string): string {
  return value.replace(/[\s-]/g, '').toUpperCase()
}

export function usccCheckChar(first17: string): string {
  let total = 0
  for (let i = 0; i < 17; i++) total += ALPHABET.indexOf(first17[i] ?? '') * WEIGHTS[i]!
  return ALPHABET[(31 - (total % 31)) % 31]!
}

/** What is wrong with a 统一社会信用代码, or null when it is valid. */
export function usccProblem(value: string): UsccProblem | null {
  const code = compactUscc(value)
  if (!code) return 'empty'
  if (code.length !== 18 || !/^\d{8}$/.test(code.slice(0, 8))) return 'format'
  if ([...code.slice(8)].some((c) => !ALPHABET.includes(c))) return 'format'
  return code[17] === usccCheckChar(code) ? null : 'checksum'
}
