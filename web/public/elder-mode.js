// 长辈模式 before the first paint: a class on <html> from this device's saved choice (src/composables/useElderMode.ts
// keeps it in step afterwards). A tiny blocking script in <head>, so even the static loading screen is drawn
// large; external because the CSP allows no inline script.
try {
  if (window.localStorage.getItem('portal.elder') === '1') document.documentElement.classList.add('elder')
} catch (e) {
  // storage unavailable: the standard size
}
