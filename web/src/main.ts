import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { restoreLocale } from './composables/useLocale'
import './styles/app.css'

async function start() {
  await restoreLocale()
  const app = createApp(App).use(i18n).use(router)
  // App switches on the route as well as on the session (a unit's request link explains itself signed out)
  await router.isReady()
  app.mount('#app')
}
void start()
