import { effectScope, markRaw, onScopeDispose, reactive, shallowRef } from 'vue'
import { useI18n } from 'vue-i18n'
import type { Material, MaterialChoice, MaterialRole, UnitRef } from '@/api/types'
import { compactUscc, usccProblem } from '@/lib/uscc'
import { useDocumentUpload, type DocumentUpload } from './useDocumentUpload'

/** What a material need says about itself (a MaterialNeed, or a MaterialState when asking again). */
export interface NeedInfo {
  material: string
  role: string
  material_name: string
  role_name: string
  hint?: string
  unit?: UnitRef | null
}

export interface MaterialErrors {
  how?: string
  upload?: string
  unitName?: string
  uscc?: string
}

/** How the person provides one needed piece of material, while they decide. */
export interface MaterialDraft {
  key: string
  material: Material
  role: MaterialRole
  materialName: string
  roleName: string
  hint: string
  how: 'upload' | 'ask' | ''
  unitName: string
  uscc: string
  upload: DocumentUpload
  errors: MaterialErrors
}

const UNIT_NAME_MAX = 300

/**
 * The material step: one draft per need, each either an upload (useDocumentUpload) or a request to the unit
 * (name + 统一社会信用代码, checked here as the BFF will). Everything stays in memory, never in storage.
 */
export function useMaterialDrafts() {
  const { t } = useI18n()
  const drafts = shallowRef<MaterialDraft[]>([])
  let scope = effectScope()

  function setNeeds(needs: NeedInfo[], defaults: { how?: MaterialDraft['how'] } = {}) {
    scope.stop() // frees the previous uploads' previews
    scope = effectScope()
    drafts.value = needs.map((need) =>
      reactive({
        key: `${need.material}:${need.role}`,
        material: need.material as Material,
        role: need.role as MaterialRole,
        materialName: need.material_name,
        roleName: need.role_name,
        hint: need.hint ?? '',
        how: defaults.how ?? '',
        unitName: need.unit?.name ?? '',
        uscc: need.unit?.uscc ?? '',
        upload: markRaw(scope.run(() => useDocumentUpload(need.material as Material))!),
        errors: {},
      }) as MaterialDraft,
    )
  }

  function check(draft: MaterialDraft): boolean {
    const errors: MaterialErrors = {}
    if (draft.how === '') errors.how = t('materials.errors.how')
    if (draft.how === 'upload') {
      const up = draft.upload
      if (up.pending.value) errors.upload = t('materials.errors.uploading')
      else if (up.failed.value.length) errors.upload = t('materials.errors.failed')
      else if (!up.ready.value) errors.upload = t('materials.errors.noFile', { material: draft.materialName })
    }
    if (draft.how === 'ask') {
      const name = draft.unitName.trim()
      if (!name) errors.unitName = t('materials.errors.unitName')
      else if (name.length > UNIT_NAME_MAX) errors.unitName = t('materials.errors.unitNameLong')
      const problem = usccProblem(draft.uscc)
      if (problem) errors.uscc = t(`materials.errors.uscc.${problem}`)
    }
    draft.errors = errors
    return Object.keys(errors).length === 0
  }

  /** Checks every draft at once (all problems told together); true when all can be submitted. */
  function validate(): boolean {
    return drafts.value.map(check).every(Boolean)
  }

  function choice(draft: MaterialDraft): MaterialChoice {
    if (draft.how === 'upload') {
      return { material: draft.material, role: draft.role, document_id: draft.upload.document.value?.id ?? null }
    }
    return {
      material: draft.material,
      role: draft.role,
      ask_unit: { name: draft.unitName.trim(), uscc: compactUscc(draft.uscc) },
    }
  }

  function choices(): MaterialChoice[] {
    return drafts.value.map(choice)
  }

  /** Server field errors (`materials[0].ask_unit.uscc`, …) onto the drafts they belong to. */
  function showServerErrors(fields: Record<string, string>) {
    for (const [field, message] of Object.entries(fields)) {
      const match = /^materials\[(\d+)\](?:\.ask_unit\.(name|uscc))?/.exec(field)
      const draft = match ? drafts.value[Number(match[1])] : undefined
      if (!draft || !match) continue
      if (match[2] === 'name') draft.errors = { ...draft.errors, unitName: message }
      else if (match[2] === 'uscc') draft.errors = { ...draft.errors, uscc: message }
      else draft.errors = { ...draft.errors, how: message }
    }
  }

  onScopeDispose(() => scope.stop())
  return { drafts, setNeeds, check, validate, choice, choices, showServerErrors }
}
