import { readdirSync, readFileSync } from 'node:fs'

/** The process and every descendant of it (a gateway's primary and its workers), from /proc (Linux). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // The command name (field 2) is in parentheses and may hold spaces: the parent id is the 2nd field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch { /* exited meanwhile */ }
  }
  const out: number[] = []
  const walk = (p: number) => { out.push(p); for (const c of children.get(p) ?? []) walk(c) }
  walk(pid)
  return out
}

/** Resident memory in bytes of a process and its descendants (VmRSS of each, summed). */
export function processTreeRss(pid: number): number {
  let total = 0
  for (const p of processTree(pid)) {
    try {
      const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1]
      total += Number(kb ?? 0) * 1024
    } catch { /* exited meanwhile */ }
  }
  return total
}
