// Progressive enhancement only: every page works without this script.
import { initAll } from './govuk/govuk-frontend.min.js'

document.body.classList.add('govuk-frontend-supported')
initAll()

for (const button of document.querySelectorAll('[data-find-print]')) {
  button.hidden = false
  button.addEventListener('click', () => window.print())
}
