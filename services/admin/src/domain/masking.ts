/** A CPF as the console shows it: only the middle six digits, as the LGPD masking convention `***.456.789-**`. */
export function maskCpf(cpf: string): string {
  const d = cpf.replace(/\D/g, '')
  if (d.length !== 11) return '***'
  return `***.${d.slice(3, 6)}.${d.slice(6, 9)}-**`
}

/** A CNPJ shown with only its root (the company), branch and check digits hidden. */
export function maskCnpj(cnpj: string): string {
  const d = cnpj.replace(/\D/g, '')
  if (d.length !== 14) return '***'
  return `${d.slice(0, 2)}.${d.slice(2, 5)}.${d.slice(5, 8)}/****-**`
}

/** A lifecycle entry of a consent's audit trail with the customer's document masked when it names the actor. */
export function maskAuditActor<E extends { actor?: { type: string; id?: string | undefined } | undefined }>(entry: E): E {
  const id = entry.actor?.id
  if (!id || !/^\d{11}$|^\d{14}$/.test(id)) return entry
  return { ...entry, actor: { ...entry.actor!, id: id.length === 11 ? maskCpf(id) : maskCnpj(id) } }
}
