import { createApp } from 'vue'
import App from './App.vue'
import { router } from './router'
import { i18n } from './i18n'
import { restoreLocale } from './composables/useLocale'
import './styles/app.css'

async function start() {
  await restoreLocale()
  createApp(App).use(i18n).use(router).mount('#app')
}
void start()
