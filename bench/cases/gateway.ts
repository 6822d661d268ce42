export { run } from '../gateway.ts'
