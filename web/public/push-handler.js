/* Web Push in the portal's service worker (pulled in by workbox's importScripts; see vite.config.ts).
 * The payload is what the BFF sends: {"title", "body", "url", "tag"}. It names the application by its reference
 * number only, and nothing here is cached or stored. */
/* eslint-env serviceworker */

self.addEventListener('push', (event) => {
  let message = {}
  try {
    message = event.data ? event.data.json() : {}
  } catch (e) {
    message = {}
  }
  const title = typeof message.title === 'string' && message.title ? message.title : '档案服务'
  const options = {
    body: typeof message.body === 'string' ? message.body : '您的申请有新进度，点按查看详情',
    icon: '/pwa-192x192.png',
    badge: '/pwa-192x192.png',
    lang: 'zh-CN',
    data: { url: typeof message.url === 'string' ? message.url : '/applications' },
  }
  if (typeof message.tag === 'string' && message.tag) {
    options.tag = message.tag // a newer message about the same application replaces the older one
    options.renotify = true
  }
  event.waitUntil(self.registration.showNotification(title, options))
})

/** Only a path of this origin is opened: a payload cannot send the person elsewhere. */
function sameOriginUrl(raw) {
  try {
    const url = new URL(typeof raw === 'string' ? raw : '/', self.location.origin)
    return url.origin === self.location.origin ? url.href : self.location.origin + '/'
  } catch (e) {
    return self.location.origin + '/'
  }
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close()
  const target = sameOriginUrl(event.notification.data && event.notification.data.url)
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      for (const client of windows) {
        if (new URL(client.url).origin !== self.location.origin) continue
        if ('navigate' in client && client.url !== target) {
          return client.focus().then((focused) => (focused || client).navigate(target)).catch(() => client.focus())
        }
        return client.focus()
      }
      return self.clients.openWindow(target)
    }),
  )
})
