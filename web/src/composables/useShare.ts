import { onScopeDispose, ref } from 'vue'

/** Writes text to the clipboard: the Clipboard API, else the old selection trick (older WebViews, http). */
async function writeText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text)
      return true
    }
  } catch {
    // permission refused or not focused: try the fallback
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.style.position = 'fixed'
  area.style.opacity = '0'
  document.body.appendChild(area)
  area.select()
  area.setSelectionRange(0, text.length)
  let done = false
  try {
    done = document.execCommand('copy')
  } catch {
    done = false
  }
  document.body.removeChild(area)
  return done
}

/**
 * Copy and share for a request code and its link (sent to a unit's HR, e.g. by WeChat). `copied` names what
 * was just copied, for two seconds, so the button can say so; `failed` asks the person to copy by hand.
 */
export function useShare() {
  const copied = ref<string | null>(null)
  const failed = ref<string | null>(null)
  let timer: ReturnType<typeof setTimeout> | undefined
  const canShare = typeof navigator !== 'undefined' && typeof navigator.share === 'function'

  async function copy(what: string, text: string): Promise<void> {
    clearTimeout(timer)
    const ok = await writeText(text)
    copied.value = ok ? what : null
    failed.value = ok ? null : what
    timer = setTimeout(() => {
      copied.value = null
    }, 2000)
  }

  async function share(data: ShareData): Promise<boolean> {
    if (!canShare) return false
    try {
      await navigator.share(data)
      return true
    } catch {
      return false // cancelled by the person, or not allowed
    }
  }

  onScopeDispose(() => clearTimeout(timer))
  return { copied, failed, canShare, copy, share }
}
