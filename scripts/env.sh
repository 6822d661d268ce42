# Source this file to use the project's Node.js 24 and pnpm in your shell: `source scripts/env.sh`.
PONTE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export PATH="$PONTE_ROOT/.tools/node/bin:$PONTE_ROOT/.tools/pnpm/node_modules/.bin:$PONTE_ROOT/node_modules/.bin:$PATH"
