/**
 * `pnpm ponte <command> [args]`: Ponte's operator CLI. Each command is a module `scripts/ponte/<command>.ts` that
 * exports `run(argv: string[]): Promise<void>` (the arguments after the command name) and, optionally,
 * `summary: string` for the help text. Adding a command is adding a file; this dispatcher never changes.
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

interface CommandModule {
  run(argv: string[]): Promise<void>
  summary?: string
}

const dir = fileURLToPath(new URL('./ponte/', import.meta.url))
const NAME = /^[a-z][a-z0-9-]*$/

function commands(): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && NAME.test(f.slice(0, -3)))
    .map((f) => f.slice(0, -3))
    .sort()
}

async function load(name: string): Promise<CommandModule> {
  const mod = (await import(new URL(`./ponte/${name}.ts`, import.meta.url).href)) as Partial<CommandModule>
  if (typeof mod.run !== 'function') throw new Error(`scripts/ponte/${name}.ts does not export run(argv)`)
  return mod as CommandModule
}

async function help(): Promise<void> {
  console.log('usage: pnpm ponte <command> [args]   (pnpm ponte <command> --help for details)\n\ncommands:')
  for (const name of commands()) {
    const mod = await load(name).catch(() => undefined)
    console.log(`  ${name.padEnd(14)} ${mod?.summary ?? ''}`)
  }
}

const [name, ...rest] = process.argv.slice(2)
if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
  await help()
} else if (!NAME.test(name) || !commands().includes(name)) {
  console.error(`ponte: unknown command "${name}"`)
  await help()
  process.exitCode = 2
} else {
  try {
    await (await load(name)).run(rest)
  } catch (err) {
    console.error(`ponte ${name}: ${err instanceof Error ? err.message : String(err)}`)
    process.exitCode = 1
  }
}
