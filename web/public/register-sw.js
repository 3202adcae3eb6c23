// Registers the service worker (vite-plugin-pwa's sw.js) once the first screen has had its turn: the worker's
// first install downloads the whole app shell (~0.8 MB), which on a slow phone network would otherwise compete
// with the first screen's own code and answers. Loaded with `defer` from index.html (no inline script: CSP).
if ('serviceWorker' in navigator) {
  const register = () => void navigator.serviceWorker.register('/sw.js', { scope: '/' })
  const whenIdle = () => ('requestIdleCallback' in window ? requestIdleCallback(register, { timeout: 2000 }) : register())
  const afterLoad = () => setTimeout(whenIdle, 3000)
  if (document.readyState === 'complete') afterLoad()
  else window.addEventListener('load', afterLoad, { once: true })
}
