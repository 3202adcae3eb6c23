import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import VueRouter from 'vue-router/vite'
import Components from 'unplugin-vue-components/vite'
import { VantResolver } from '@vant/auto-import-resolver'
import { VitePWA } from 'vite-plugin-pwa'

// The BFF serves these paths itself; the dev server forwards them and the service worker never touches them.
// served by the BFF, never by the app shell: the verification pages (the QR's /V/ too), the 政审 share link
const BFF_PATHS = ['/api', '/auth', '/v', '/V', '/verify', '/status', '/s', '/.well-known', '/healthz', '/schema']
const BFF = process.env.BFF_URL ?? 'http://127.0.0.1:8000'

// Vant's icon font is a web font (an inline data: URL with a CDN fallback): the portal's CSP blocks it and the
// app draws its few icons as inline SVG (src/components/AppIcon.vue), so its @font-face is dropped.
const dropVantIconFont = {
  postcssPlugin: 'drop-vant-icon-font',
  AtRule: {
    'font-face': (rule: { toString(): string; remove(): void }) => {
      if (/font-family:\s*["']?vant-icon/.test(rule.toString())) rule.remove()
    },
  },
}

export default defineConfig({
  plugins: [
    // file-based typed routes from src/pages (must come before vue())
    VueRouter({ dts: 'typed-router.d.ts' }),
    vue(),
    // Vant components imported on demand, with their styles
    Components({ dts: 'components.d.ts', resolvers: [VantResolver()] }),
    VitePWA({
      registerType: 'autoUpdate',
      // registered by public/register-sw.js, a few seconds after load (see there)
      injectRegister: false,
      includeAssets: ['favicon.svg', 'apple-touch-icon.png', 'register-sw.js'],
      manifest: {
        id: '/',
        name: '档案服务',
        short_name: '档案服务',
        description: '流动人员人事档案网上服务：查询存档信息、申请存档证明、查看办理进度',
        lang: 'zh-CN',
        dir: 'ltr',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'portrait',
        theme_color: '#0466c8', // the app's primary (src/styles/app.css), as index.html's theme-color
        background_color: '#f7f8fa',
        categories: ['government', 'utilities'],
        icons: [
          { src: '/pwa-192x192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/pwa-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/maskable-512x512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        // the app shell only: no runtimeCaching, so no API answer (personal data) is ever cached
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest}'],
        navigateFallback: '/index.html',
        navigateFallbackDenylist: BFF_PATHS.map(
          (p) => new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(/|$|\\?)`),
        ),
        cleanupOutdatedCaches: true,
        // Web Push: shows the BFF's notifications and opens the application on a tap (public/push-handler.js)
        importScripts: ['/push-handler.js'],
        clientsClaim: true,
      },
    }),
  ],
  css: {
    postcss: { plugins: [dropVantIconFont] },
  },
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    // the division table is shared with the BFF (src/components/RegionPicker.vue)
    fs: { allow: ['.', '../bff/data/divisions.json'] },
    proxy: Object.fromEntries(BFF_PATHS.map((p) => [p, { target: BFF, changeOrigin: false }])),
  },
  build: {
    target: 'es2020',
    // dist/.vite/manifest.json: what each route loads first (tests/web/test_bundle_budget.py checks the budgets)
    manifest: true,
    // keep first load small: report anything surprisingly large
    chunkSizeWarningLimit: 300,
    rolldownOptions: {
      output: {
        // the framework in one long-lived chunk; Vant's components split with the screens that use them
        codeSplitting: {
          groups: [{ name: 'framework', test: /node_modules[\\/](@?vue|vue-router|vue-i18n|@intlify|openapi-fetch)/ }],
        },
      },
    },
  },
})
