import type { SelectableResource } from '@ponte/contracts'
import { groupPermissions, pickLocale, type Locale } from '../domain/journey.ts'

/** The headers of every journey page (no caching, a strict CSP, no framing). */
export const SECURITY_HEADERS = {
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
}

/** Escapes text for HTML element content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`)
}

const TEXT = {
  'pt-BR': {
    lang: 'pt-BR',
    loginTitle: 'Entrar',
    loginIntro: (tpp: string) => `${tpp} pediu acesso aos seus dados pelo Open Finance. Entre com sua conta para continuar.`,
    cpf: 'CPF', password: 'Senha', signIn: 'Entrar',
    cpfHint: 'Somente números, 11 dígitos',
    badCredentials: 'CPF ou senha incorretos. Confira e tente novamente.',
    throttled: (until: string) => `Muitas tentativas sem sucesso. Tente novamente a partir de ${until} (horário de Brasília).`,
    held: (until: string) => `Muitas tentativas sem sucesso com este CPF. Por segurança, o acesso está suspenso até ${until} (horário de Brasília).`,
    waitAfterFailure: (until: string) => `Por segurança, a próxima tentativa só será aceita a partir de ${until} (horário de Brasília).`,
    unavailable: 'Não foi possível concluir agora. Tente novamente em instantes.',
    reviewTitle: 'Revise o compartilhamento',
    who: 'Quem está pedindo', what: 'Quais dados', until: 'Até quando', indefinite: 'Sem data de término (até você cancelar)',
    accounts: 'Escolha os produtos que deseja compartilhar',
    noAccounts: 'Você não tem produtos que possam ser compartilhados com este pedido.',
    chooseOne: 'Escolha pelo menos um produto para autorizar.',
    authorise: 'Autorizar', refuse: 'Recusar',
    requiresAccount: 'Este pedido pede dados de conta; sem produtos escolhidos, apenas recuse.',
    errorTitle: 'Não foi possível continuar',
    errorBody: 'O pedido não pôde ser concluído. Volte ao aplicativo que iniciou o pedido e tente de novo.',
    footer: 'Ambiente seguro do Open Finance Brasil',
    sharedData: 'Os dados serão compartilhados apenas com a instituição acima, para a finalidade que ela informou.',
  },
  en: {
    lang: 'en',
    loginTitle: 'Sign in',
    loginIntro: (tpp: string) => `${tpp} asked to access your data through Open Finance. Sign in to continue.`,
    cpf: 'CPF', password: 'Password', signIn: 'Sign in',
    cpfHint: 'Digits only, 11 digits',
    badCredentials: 'Wrong CPF or password. Check them and try again.',
    throttled: (until: string) => `Too many failed attempts. Try again from ${until} (Brasília time).`,
    held: (until: string) => `Too many failed attempts with this CPF. For your security, sign-in is on hold until ${until} (Brasília time).`,
    waitAfterFailure: (until: string) => `For your security, the next attempt is accepted from ${until} (Brasília time).`,
    unavailable: 'We could not complete this now. Try again shortly.',
    reviewTitle: 'Review the data sharing',
    who: 'Who is asking', what: 'Which data', until: 'Until when', indefinite: 'No end date (until you cancel it)',
    accounts: 'Choose the products you want to share',
    noAccounts: 'You hold no products that can be shared for this request.',
    chooseOne: 'Choose at least one product to authorise.',
    authorise: 'Authorise', refuse: 'Refuse',
    requiresAccount: 'This request asks for account data; without products to choose, refuse it.',
    errorTitle: 'We could not continue',
    errorBody: 'The request could not be completed. Go back to the app that started it and try again.',
    footer: 'Open Finance Brasil secure environment',
    sharedData: 'The data will be shared only with the institution above, for the purpose it stated.',
  },
} as const

/** What every page shows in its header. */
export interface PageFrame {
  locale: Locale
  bankName: string
}

const STYLE = `
:root{--brand:#0b3d91;--ink:#1b1b1b;--muted:#555;--bg:#f4f6fa;--err:#a4000f}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:var(--bg)}
header{background:var(--brand);color:#fff;padding:12px 24px;display:flex;align-items:center;gap:12px}
header svg{flex:none}header span{font-weight:700;font-size:1.15rem}
main{max-width:560px;margin:24px auto;background:#fff;padding:24px 28px;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
h1{font-size:1.4rem;margin-top:0}h2{font-size:1.05rem;margin:20px 0 6px}
label{display:block;font-weight:600;margin:14px 0 4px}
input[type=text],input[type=password]{width:100%;padding:10px;border:1px solid #8a8a8a;border-radius:4px;font-size:1rem}
input:focus,button:focus{outline:3px solid #ffbf47;outline-offset:1px}
.hint{color:var(--muted);font-size:.9rem;margin:2px 0 0}
.error{color:var(--err);border-left:4px solid var(--err);padding:6px 10px;background:#fff3f3}
.tpp{display:flex;align-items:center;gap:12px}.tpp img{width:48px;height:48px;object-fit:contain}
fieldset{border:1px solid #ccd;border-radius:6px;padding:8px 14px;margin:12px 0}legend{font-weight:700;padding:0 4px}
.check{display:flex;gap:10px;align-items:center;margin:8px 0}.check label{margin:0;font-weight:400}
.actions{display:flex;gap:12px;margin-top:20px}
button{font-size:1rem;padding:10px 22px;border-radius:4px;border:2px solid var(--brand);cursor:pointer}
button.primary{background:var(--brand);color:#fff}button.secondary{background:#fff;color:var(--brand)}
footer{text-align:center;color:var(--muted);font-size:.85rem;margin:12px}
ul{margin:4px 0 8px;padding-left:20px}`

const LOGO = `<svg width="36" height="36" viewBox="0 0 36 36" role="img" aria-hidden="true"><rect width="36" height="36" rx="8" fill="#fff"/><path d="M6 24c6-10 18-10 24 0" stroke="#0b3d91" stroke-width="4" fill="none"/><path d="M6 26h24" stroke="#0b3d91" stroke-width="3"/></svg>`

function layout(frame: PageFrame, title: string, body: string): string {
  const t = TEXT[frame.locale]
  return `<!DOCTYPE html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${esc(title)} · ${esc(frame.bankName)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>${LOGO}<span>${esc(frame.bankName)}</span></header>
<main id="conteudo">
${body}
</main>
<footer>${esc(t.footer)}</footer>
</body>
</html>`
}

/** The TPP shown on the pages (name and logo from the directory). */
export interface TppView {
  name: string
  logoUri: string | undefined
}

function tppBlock(tpp: TppView): string {
  const logo = tpp.logoUri && /^https:\/\//.test(tpp.logoUri) ? `<img src="${esc(tpp.logoUri)}" alt="">` : ''
  return `<div class="tpp">${logo}<strong>${esc(tpp.name)}</strong></div>`
}

/** A time of day as Brazilian customers read it (Brasília time). */
function brasiliaTime(date: Date, locale: Locale): string {
  return new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'pt-BR', { timeZone: 'America/Sao_Paulo', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(date)
}

/** Login page: CPF and Senha, button Entrar. A wait in force (`wait`) is said with its end time. */
export function renderLoginPage(input: PageFrame & {
  action: string; csrf: string; tpp: TppView; error?: 'credentials' | 'throttled' | 'unavailable'; cpf?: string
  wait?: { until: Date; held: boolean; rule: string }
}): string {
  const t = TEXT[input.locale]
  const until = input.wait ? brasiliaTime(input.wait.until, input.locale) : ''
  const throttled = input.wait?.held && input.wait.rule === 'cpf' ? t.held(until) : t.throttled(until)
  let error = input.error === 'credentials' ? t.badCredentials : input.error === 'throttled' ? throttled : input.error === 'unavailable' ? t.unavailable : undefined
  if (input.error === 'credentials' && input.wait) error = `${t.badCredentials} ${input.wait.held && input.wait.rule === 'cpf' ? t.held(until) : t.waitAfterFailure(until)}`
  return layout(input, t.loginTitle, `
<h1>${esc(t.loginTitle)}</h1>
${tppBlock(input.tpp)}
<p>${esc(t.loginIntro(input.tpp.name))}</p>
${error ? `<p class="error" role="alert" id="login-error"${input.wait ? ` data-until="${esc(input.wait.until.toISOString())}"` : ''}>${esc(error)}</p>` : ''}
<form method="post" action="${esc(input.action)}" autocomplete="off" novalidate>
<input type="hidden" name="csrf" value="${esc(input.csrf)}">
<label for="cpf">${esc(t.cpf)}</label>
<input type="text" id="cpf" name="cpf" inputmode="numeric" autocomplete="username" required aria-describedby="cpf-hint${error ? ' login-error' : ''}" value="${esc(input.cpf ?? '')}"${error ? ' aria-invalid="true"' : ''}>
<p class="hint" id="cpf-hint">${esc(t.cpfHint)}</p>
<label for="senha">${esc(t.password)}</label>
<input type="password" id="senha" name="senha" autocomplete="current-password" required${error ? ' aria-invalid="true"' : ''}>
<div class="actions"><button type="submit" class="primary">${esc(t.signIn)}</button></div>
</form>`)
}

/** Consent review page: who, what (grouped permissions), until when, resources as checkboxes, Autorizar / Recusar. */
export function renderConsentPage(input: PageFrame & {
  action: string
  csrf: string
  tpp: TppView
  permissions: string[]
  expirationDateTime: string | undefined
  resources: SelectableResource[]
  needsResources: boolean
  error?: 'choose'
}): string {
  const t = TEXT[input.locale]
  const groups = groupPermissions(input.permissions)
  const until = input.expirationDateTime
    ? new Intl.DateTimeFormat(input.locale, { dateStyle: 'long', timeZone: 'America/Sao_Paulo' }).format(new Date(input.expirationDateTime))
    : t.indefinite
  const what = groups.map((g) => `<h3>${esc(g.title[input.locale])}</h3><ul>${g.items.map((i) => `<li>${esc(i.text[input.locale])}</li>`).join('')}</ul>`).join('\n')
  let resources = ''
  if (input.needsResources) {
    resources = input.resources.length === 0
      ? `<p>${esc(t.noAccounts)}</p><p>${esc(t.requiresAccount)}</p>`
      : `<fieldset><legend>${esc(t.accounts)}</legend>${input.resources.map((r, i) => {
        const id = `recurso-${i}`
        return `<div class="check"><input type="checkbox" id="${id}" name="resource" value="${esc(`${r.type}|${r.resourceId}`)}"><label for="${id}">${esc(r.label)} ${esc(r.maskedNumber)}</label></div>`
      }).join('')}</fieldset>`
  }
  return layout(input, t.reviewTitle, `
<h1>${esc(t.reviewTitle)}</h1>
${input.error === 'choose' ? `<p class="error" role="alert">${esc(t.chooseOne)}</p>` : ''}
<h2>${esc(t.who)}</h2>
${tppBlock(input.tpp)}
<h2>${esc(t.what)}</h2>
${what}
<h2>${esc(t.until)}</h2>
<p>${esc(until)}</p>
<p class="hint">${esc(t.sharedData)}</p>
<form method="post" action="${esc(input.action)}">
<input type="hidden" name="csrf" value="${esc(input.csrf)}">
${resources}
<div class="actions">
<button type="submit" name="decision" value="authorise" class="primary">${esc(t.authorise)}</button>
<button type="submit" name="decision" value="reject" class="secondary">${esc(t.refuse)}</button>
</div>
</form>`)
}

/** The error page (oidc-provider `renderError` and journey failures before a redirect is possible). */
export function renderErrorPage(out: { error: string; error_description?: string | undefined }, uiLocales?: unknown, bankName = 'Open Finance'): string {
  const locale = pickLocale(uiLocales)
  const t = TEXT[locale]
  return layout({ locale, bankName }, t.errorTitle, `
<h1>${esc(t.errorTitle)}</h1>
<p>${esc(t.errorBody)}</p>
<p class="hint"><code>${esc(out.error)}</code>${out.error_description ? `: ${esc(out.error_description)}` : ''}</p>`)
}

const PAY_TEXT = {
  'pt-BR': {
    totpTitle: 'Confirme com seu código',
    totpIntro: 'Para autorizar um pagamento, digite o código de 6 dígitos do seu aplicativo autenticador.',
    code: 'Código', confirm: 'Confirmar', codeHint: '6 dígitos, muda a cada 30 segundos',
    badCode: 'Código incorreto ou já usado. Aguarde o próximo código e tente novamente.',
    throttled: (until: string) => `Muitos códigos incorretos. Por segurança, tente novamente a partir de ${until} (horário de Brasília).`,
    waitAfterFailure: (until: string) => `Por segurança, o próximo código só será aceito a partir de ${until} (horário de Brasília).`,
    unavailable: 'Não foi possível verificar o código agora. Tente novamente em instantes.',
    reviewTitle: 'Revise o pagamento',
    who: 'Quem está pedindo', amount: 'Valor', creditor: 'Para quem', when: 'Quando', debtor: 'Conta de origem',
    chooseAccount: 'Escolha a conta de onde sai o pagamento',
    noAccounts: 'Você não tem contas que possam fazer este pagamento; apenas recuse.',
    chooseOne: 'Escolha a conta de onde sai o pagamento.',
    authorise: 'Autorizar', refuse: 'Recusar',
  },
  en: {
    totpTitle: 'Confirm with your code',
    totpIntro: 'To authorise a payment, type the 6-digit code from your authenticator app.',
    code: 'Code', confirm: 'Confirm', codeHint: '6 digits, changes every 30 seconds',
    badCode: 'Wrong or already used code. Wait for the next code and try again.',
    throttled: (until: string) => `Too many wrong codes. For your security, try again from ${until} (Brasília time).`,
    waitAfterFailure: (until: string) => `For your security, the next code is accepted from ${until} (Brasília time).`,
    unavailable: 'We could not check the code now. Try again shortly.',
    reviewTitle: 'Review the payment',
    who: 'Who is asking', amount: 'Amount', creditor: 'To whom', when: 'When', debtor: 'From account',
    chooseAccount: 'Choose the account the payment comes from',
    noAccounts: 'You hold no account that can make this payment; refuse it.',
    chooseOne: 'Choose the account the payment comes from.',
    authorise: 'Authorise', refuse: 'Refuse',
  },
} as const

/** The LoA3 step of a payment consent: the TOTP code (field Código, button Confirmar). */
export function renderTotpPage(input: PageFrame & {
  action: string; csrf: string; tpp: TppView; error?: 'code' | 'throttled' | 'unavailable'; wait?: { until: Date; held: boolean }
}): string {
  const t = PAY_TEXT[input.locale]
  const until = input.wait ? brasiliaTime(input.wait.until, input.locale) : ''
  let error = input.error === 'code' ? t.badCode : input.error === 'throttled' ? t.throttled(until) : input.error === 'unavailable' ? t.unavailable : undefined
  if (input.error === 'code' && input.wait) error = `${t.badCode} ${input.wait.held ? t.throttled(until) : t.waitAfterFailure(until)}`
  return layout(input, t.totpTitle, `
<h1>${esc(t.totpTitle)}</h1>
${tppBlock(input.tpp)}
<p>${esc(t.totpIntro)}</p>
${error ? `<p class="error" role="alert" id="codigo-error"${input.wait ? ` data-until="${esc(input.wait.until.toISOString())}"` : ''}>${esc(error)}</p>` : ''}
<form method="post" action="${esc(input.action)}" autocomplete="off" novalidate>
<input type="hidden" name="csrf" value="${esc(input.csrf)}">
<label for="codigo">${esc(t.code)}</label>
<input type="text" id="codigo" name="codigo" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required aria-describedby="codigo-hint${error ? ' codigo-error' : ''}"${error ? ' aria-invalid="true"' : ''}>
<p class="hint" id="codigo-hint">${esc(t.codeHint)}</p>
<div class="actions"><button type="submit" class="primary">${esc(t.confirm)}</button></div>
</form>`)
}

/** An account offered on the payment review page. */
export interface DebtorAccountView {
  resourceId: string
  label: string
  maskedNumber: string
}

/**
 * The payment review page: who asks, amount, creditor (name, masked document), when, and the debtor account — the one
 * the consent names, or a radio group of the customer's eligible accounts; Autorizar / Recusar.
 */
export function renderPaymentPage(input: PageFrame & {
  action: string; csrf: string; tpp: TppView
  amount: string; creditor: { name: string; document: string }; when: string
  /** The account the consent names (shown), or undefined when the customer chooses among `choices`. */
  namedDebtor?: DebtorAccountView
  choices: DebtorAccountView[]
  error?: 'choose'
}): string {
  const t = PAY_TEXT[input.locale]
  let debtor: string
  if (input.namedDebtor) debtor = `<h2>${esc(t.debtor)}</h2><p>${esc(input.namedDebtor.label)} ${esc(input.namedDebtor.maskedNumber)}</p>`
  else if (input.choices.length === 0) debtor = `<h2>${esc(t.debtor)}</h2><p>${esc(t.noAccounts)}</p>`
  else {
    debtor = `<fieldset><legend>${esc(t.chooseAccount)}</legend>${input.choices.map((a, i) => {
      const id = `conta-${i}`
      return `<div class="check"><input type="radio" id="${id}" name="debtorAccount" value="${esc(a.resourceId)}" required><label for="${id}">${esc(a.label)} ${esc(a.maskedNumber)}</label></div>`
    }).join('')}</fieldset>`
  }
  return layout(input, t.reviewTitle, `
<h1>${esc(t.reviewTitle)}</h1>
${input.error === 'choose' ? `<p class="error" role="alert">${esc(t.chooseOne)}</p>` : ''}
<h2>${esc(t.who)}</h2>
${tppBlock(input.tpp)}
<h2>${esc(t.amount)}</h2>
<p id="valor">${esc(input.amount)}</p>
<h2>${esc(t.creditor)}</h2>
<p id="recebedor">${esc(input.creditor.name)} · ${esc(input.creditor.document)}</p>
<h2>${esc(t.when)}</h2>
<p id="quando">${esc(input.when)}</p>
<form method="post" action="${esc(input.action)}">
<input type="hidden" name="csrf" value="${esc(input.csrf)}">
${debtor}
<div class="actions">
<button type="submit" name="decision" value="authorise" class="primary">${esc(t.authorise)}</button>
<button type="submit" name="decision" value="reject" class="secondary">${esc(t.refuse)}</button>
</div>
</form>`)
}
