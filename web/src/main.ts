import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { restoreLocale } from './composables/useLocale'
import { startSession } from './composables/useSession'
import { restoreElderMode } from './composables/useElderMode'
import './styles/app.css'
import './styles/elder.css'

// 长辈模式: public/elder-mode.js set the class on <html> before the first paint; this keeps the switch in step
restoreElderMode()

async function start() {
  startSession() // the session and the first screen's code load side by side
  await restoreLocale()
  const app = createApp(App).use(i18n).use(router)
  // App switches on the route as well as on the session (a unit's request link explains itself signed out)
  await router.isReady()
  app.mount('#app')
}
void start()
