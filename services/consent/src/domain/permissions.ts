/**
 * The consent service's rules over the permission catalogue of `@ponte/contracts` (docs/regulation/consents.md#permission-groups): a
 * request must be made of complete groups, each of which includes `RESOURCES_READ`, and is trimmed to what the bank
 * offers. Pure: no I/O.
 */
import { PERMISSIONS, PERMISSION_GROUP_NAMES, permissionGroup, type Permission, type PermissionGroupName } from '@ponte/contracts'

/** Names of the groups a bank may leave out (per-resource groups); grouped products are always kept. */
export const OPTIONAL_GROUPS = PERMISSION_GROUP_NAMES.filter((g) => permissionGroup(g).selection === 'per-resource')

/**
 * The per-resource groups the reference bank offers: personal and business registration data, accounts and credit
 * cards (credit operations are product groups, always kept).
 */
export const DEFAULT_OFFERED_GROUPS: readonly PermissionGroupName[] = OPTIONAL_GROUPS

/** Why a permission list was refused: the spec's 422 codes of `POST /consents`. */
export type PermissionRefusal =
  | 'COMBINACAO_PERMISSOES_INCORRETA'
  | 'PERMISSAO_PF_PJ_EM_CONJUNTO'
  | 'INFORMACOES_PJ_NAO_INFORMADAS'
  | 'PERMISSOES_PJ_INCORRETAS'
  | 'SEM_PERMISSOES_FUNCIONAIS_RESTANTES'

/** The outcome of {@link resolvePermissions}. */
export type PermissionResolution =
  | { ok: true; permissions: Permission[]; groups: PermissionGroupName[]; trimmed: PermissionGroupName[] }
  | { ok: false; code: PermissionRefusal; detail: string }

const order = new Map<string, number>(PERMISSIONS.map((p, i) => [p, i]))
const sortPermissions = (ps: Iterable<Permission>) => [...ps].sort((a, b) => order.get(a)! - order.get(b)!)

/**
 * Checks a requested permission list and trims it to what the bank offers (docs/regulation/consents.md#trimming-permissions):
 * 1. the list must be exactly a union of complete groups (`COMBINACAO_PERMISSOES_INCORRETA`);
 * 2. personal and business registration data never mix (`PERMISSAO_PF_PJ_EM_CONJUNTO`); business data needs
 *    `businessEntity` (`INFORMACOES_PJ_NAO_INFORMADAS`); `businessEntity` excludes personal data (`PERMISSOES_PJ_INCORRETAS`);
 * 3. per-resource groups not in `offered` are dropped; product groups are always kept;
 * 4. if nothing but `RESOURCES_READ` is left: `SEM_PERMISSOES_FUNCIONAIS_RESTANTES`.
 * The input holds known, distinct permissions (the transport refuses others with 400).
 */
export function resolvePermissions(
  requested: readonly Permission[],
  options: { hasBusinessEntity: boolean; offered: ReadonlySet<PermissionGroupName> },
): PermissionResolution {
  const wanted = new Set(requested)
  const groups = PERMISSION_GROUP_NAMES.filter((g) => permissionGroup(g).permissions.every((p) => wanted.has(p)))
  const covered = new Set<Permission>(groups.flatMap((g) => permissionGroup(g).permissions))
  const loose = [...wanted].filter((p) => !covered.has(p))
  if (loose.length > 0) {
    return { ok: false, code: 'COMBINACAO_PERMISSOES_INCORRETA', detail: `permissões fora de um agrupamento completo: ${sortPermissions(loose).join(', ')}` }
  }
  const personal = groups.some((g) => permissionGroup(g).holder === 'PF')
  const business = groups.some((g) => permissionGroup(g).holder === 'PJ')
  if (personal && business) {
    return { ok: false, code: 'PERMISSAO_PF_PJ_EM_CONJUNTO', detail: 'permissões de pessoa natural e de pessoa jurídica no mesmo consentimento' }
  }
  if (business && !options.hasBusinessEntity) {
    return { ok: false, code: 'INFORMACOES_PJ_NAO_INFORMADAS', detail: 'permissões de pessoa jurídica exigem businessEntity' }
  }
  if (personal && options.hasBusinessEntity) {
    return { ok: false, code: 'PERMISSOES_PJ_INCORRETAS', detail: 'businessEntity informado com permissões de pessoa natural' }
  }
  const kept = groups.filter((g) => permissionGroup(g).selection === 'product' || options.offered.has(g))
  const trimmed = groups.filter((g) => !kept.includes(g))
  const permissions = sortPermissions(new Set<Permission>(kept.flatMap((g) => permissionGroup(g).permissions)))
  if (!permissions.some((p) => p !== 'RESOURCES_READ')) {
    return { ok: false, code: 'SEM_PERMISSOES_FUNCIONAIS_RESTANTES', detail: 'nenhuma das permissões solicitadas é oferecida por esta instituição' }
  }
  return { ok: true, permissions, groups: kept, trimmed }
}
