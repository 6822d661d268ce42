import { createContext, useContext, useEffect, useState, type ReactNode } from 'react'
import { opsEn, opsPt } from './i18n-operations.ts'

/** The console's languages: Brazilian Portuguese by default, English. */
export type Lang = 'pt-BR' | 'en'

const pt = {
  'app.title': 'Ponte · Console',
  'login.title': 'Entrar no console',
  'login.email': 'E-mail',
  'login.password': 'Senha',
  'login.code': 'Código',
  'login.codeHelp': 'O código de 6 dígitos do seu aplicativo autenticador',
  'login.submit': 'Entrar',
  'login.confirm': 'Confirmar',
  'login.failed': 'E-mail, senha ou código incorretos.',
  'login.throttled': 'Muitas tentativas. Tente novamente mais tarde.',
  'nav.consents': 'Consentimentos',
  'nav.traffic': 'Limites de tráfego',
  'nav.staff': 'Equipe',
  'nav.audit': 'Trilha de auditoria',
  'nav.main': 'Navegação principal',
  'nav.logout': 'Sair',
  'nav.language': 'Idioma',
  'consents.title': 'Consentimentos',
  'consents.query': 'ID do consentimento ou CPF do cliente',
  'consents.search': 'Buscar',
  'consents.none': 'Nenhum consentimento encontrado.',
  'consents.id': 'ID',
  'consents.status': 'Situação',
  'consents.client': 'Cliente (TPP)',
  'consents.cpf': 'CPF',
  'consents.created': 'Criado em',
  'consents.open': 'Ver',
  'consents.lifecycle': 'Ciclo de vida',
  'consents.when': 'Quando',
  'consents.action': 'Ação',
  'consents.actor': 'Quem',
  'consents.revoke': 'Revogar',
  'consents.reason': 'Motivo',
  'consents.reason.customer': 'A pedido do cliente',
  'consents.reason.security': 'Segurança',
  'consents.note': 'Observação (obrigatória)',
  'consents.confirmRevoke': 'Confirmar revogação',
  'consents.revoked': 'Consentimento revogado.',
  'traffic.title': 'Limites de tráfego',
  'traffic.kind': 'Tipo',
  'traffic.scope': 'Escopo',
  'traffic.endpoint': 'Endpoint',
  'traffic.organisation': 'Organização',
  'traffic.limit': 'Limite',
  'traffic.enabled': 'Ativo',
  'traffic.change': 'Alterar um limite',
  'traffic.preview': 'Pré-visualizar',
  'traffic.apply': 'Aplicar',
  'traffic.before': 'Antes',
  'traffic.after': 'Depois',
  'traffic.applied': 'Limite alterado.',
  'staff.title': 'Equipe',
  'staff.name': 'Nome',
  'staff.email': 'E-mail',
  'staff.roles': 'Papéis',
  'staff.disabled': 'Desativado',
  'audit.title': 'Trilha de auditoria',
  'audit.actor': 'Quem',
  'audit.action': 'Ação',
  'audit.outcome': 'Resultado',
  'audit.target': 'Alvo',
  'audit.when': 'Quando',
  'audit.address': 'Endereço',
  'audit.filter': 'Filtrar',
  'audit.export': 'Exportar CSV',
  'common.yes': 'sim',
  'common.no': 'não',
  'common.loading': 'Carregando…',
  'common.error': 'Algo deu errado:',
  ...opsPt,
} as const

export type MessageKey = keyof typeof pt

const en: Record<MessageKey, string> = {
  'app.title': 'Ponte · Console',
  'login.title': 'Sign in to the console',
  'login.email': 'E-mail',
  'login.password': 'Password',
  'login.code': 'Code',
  'login.codeHelp': 'The 6-digit code from your authenticator app',
  'login.submit': 'Sign in',
  'login.confirm': 'Confirm',
  'login.failed': 'Wrong e-mail, password or code.',
  'login.throttled': 'Too many attempts. Try again later.',
  'nav.consents': 'Consents',
  'nav.traffic': 'Traffic limits',
  'nav.staff': 'Staff',
  'nav.audit': 'Audit trail',
  'nav.main': 'Main navigation',
  'nav.logout': 'Sign out',
  'nav.language': 'Language',
  'consents.title': 'Consents',
  'consents.query': "Consent id or the customer's CPF",
  'consents.search': 'Search',
  'consents.none': 'No consent found.',
  'consents.id': 'Id',
  'consents.status': 'Status',
  'consents.client': 'Client (TPP)',
  'consents.cpf': 'CPF',
  'consents.created': 'Created',
  'consents.open': 'Open',
  'consents.lifecycle': 'Lifecycle',
  'consents.when': 'When',
  'consents.action': 'Action',
  'consents.actor': 'Who',
  'consents.revoke': 'Revoke',
  'consents.reason': 'Reason',
  'consents.reason.customer': "On the customer's request",
  'consents.reason.security': 'Security',
  'consents.note': 'Note (mandatory)',
  'consents.confirmRevoke': 'Confirm revocation',
  'consents.revoked': 'Consent revoked.',
  'traffic.title': 'Traffic limits',
  'traffic.kind': 'Kind',
  'traffic.scope': 'Scope',
  'traffic.endpoint': 'Endpoint',
  'traffic.organisation': 'Organisation',
  'traffic.limit': 'Limit',
  'traffic.enabled': 'Enabled',
  'traffic.change': 'Change a limit',
  'traffic.preview': 'Preview',
  'traffic.apply': 'Apply',
  'traffic.before': 'Before',
  'traffic.after': 'After',
  'traffic.applied': 'Limit changed.',
  'staff.title': 'Staff',
  'staff.name': 'Name',
  'staff.email': 'E-mail',
  'staff.roles': 'Roles',
  'staff.disabled': 'Disabled',
  'audit.title': 'Audit trail',
  'audit.actor': 'Who',
  'audit.action': 'Action',
  'audit.outcome': 'Outcome',
  'audit.target': 'Target',
  'audit.when': 'When',
  'audit.address': 'Address',
  'audit.filter': 'Filter',
  'audit.export': 'Export CSV',
  'common.yes': 'yes',
  'common.no': 'no',
  'common.loading': 'Loading…',
  'common.error': 'Something went wrong:',
  ...opsEn,
}

const messages: Record<Lang, Record<MessageKey, string>> = { 'pt-BR': pt, en }

interface I18n { lang: Lang; setLang(lang: Lang): void; t(key: MessageKey): string; formatDate(iso: string): string }
const Ctx = createContext<I18n | null>(null)

function initialLang(): Lang {
  const q = new URLSearchParams(window.location.search).get('lang')
  if (q === 'en' || q === 'pt-BR') return q
  const saved = window.localStorage.getItem('ponte-console-lang')
  return saved === 'en' ? 'en' : 'pt-BR'
}

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang)
  useEffect(() => {
    document.documentElement.lang = lang
    document.title = messages[lang]['app.title']
  }, [lang])
  const value: I18n = {
    lang,
    setLang(l) { window.localStorage.setItem('ponte-console-lang', l); setLangState(l) },
    t: (key) => messages[lang][key],
    formatDate: (iso) => new Intl.DateTimeFormat(lang, { dateStyle: 'short', timeStyle: 'medium' }).format(new Date(iso)),
  }
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>
}

export function useI18n(): I18n {
  const v = useContext(Ctx)
  if (!v) throw new Error('useI18n outside I18nProvider')
  return v
}
