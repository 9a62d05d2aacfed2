// The test build (dist-test/) can switch encryption off and exposes every key
// to tests: it says so on every screen. main.ts adds it behind
// __E2EE_TEST_HOOKS__, so the production build never has it (its style is
// inline for that reason: style.css ships in both builds).

import { h } from './dom.ts';

const STYLE = [
  // Bottom left: over every screen, but off the header, where the E2EE state and the security code are.
  'position: fixed; bottom: 0; left: 0; z-index: 1000',
  // Never in the way of a click.
  'pointer-events: none',
  'background: #c62828; color: #fff; font-weight: 700; font-size: 0.8rem; padding: 0.15rem 0.8rem; border-radius: 0 8px 0 0',
].join('; ');

export function showTestBuildBanner(): void {
  const banner = h('div', { role: 'note', style: STYLE, 'data-testid': 'test-build-banner' }, 'test build — not for real meetings');
  document.body.append(banner);
}
