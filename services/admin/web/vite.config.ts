import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The console's single-page app. `vite build` writes web/dist, which the admin service serves; `vite` (dev mode) serves
// it with hot reload and forwards /api to the admin service on ADMIN_API_URL (default http://127.0.0.1:3000).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, assetsInlineLimit: 0, sourcemap: false },
  server: { port: 5173, proxy: { '/api': { target: process.env.ADMIN_API_URL ?? 'http://127.0.0.1:3000', changeOrigin: false } } },
})
