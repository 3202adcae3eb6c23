/** A `tel:` link for a phone number as shown (0571-87006666 → tel:057187006666). */
export function telHref(number: string): string {
  return `tel:${number.replace(/[^\d+]/g, '')}`
}

export interface TextPart {
  text: string
  phone: boolean
}

// a landline with its area code (0571-87006666) or a mobile number (13985112233)
const PHONE = /(0\d{2,3}-\d{7,8}|1\d{10})/

/** A sentence cut around the phone numbers in it, so each number can be a link that is never split. */
export function phoneParts(text: string): TextPart[] {
  return text
    .split(PHONE)
    .filter((part) => part !== '')
    .map((part) => ({ text: part, phone: PHONE.test(part) }))
}
