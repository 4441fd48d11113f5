// Starts the NHS design system's components (header menu, skip link,
// responsive tables). Pages work without it.
import { initAll } from '/assets/nhsuk-frontend.min.js';

initAll();
