// The year at a glance: counts that need attention and the token expiries of the next twelve months.
import { apiJson } from './api.js';
import { expiryChart, timelineChart } from './charts.js';
import { h } from './dom.js';

export async function homeView(ui) {
  const a = (await apiJson('GET', '/v1/tokenSummary')).data.attributes;
  const card = (id, label, count, hint) => h('div', { class: 'card', id }, h('a', { href: '#/services' }, h('span', { class: 'count' }, String(count)), label), hint ? h('p', { class: 'hint' }, hint) : null);
  ui.page('Home',
    h('div', { class: 'cards', role: 'list', 'aria-label': 'Service token counts' },
      [card('count-active', 'Active', a.active),
        card('count-expiring', 'Expiring within 30 days', a.expiringWithin30Days, 'Download a new token well before.'),
        card('count-awaiting', 'Awaiting installation', a.awaitingInstallation),
        card('count-replacement', 'Replacement required', a.replacementRequired)].map((c) => { c.setAttribute('role', 'listitem'); return c; })),
    h('h2', {}, 'Token expiries: this month and the next 12'),
    expiryChart(a.expiriesByMonth));
}

/** A service page's token timeline (issued, installed, reminders sent and due, expiry). */
export async function tokenTimelineSection(linkId) {
  try {
    const t = (await apiJson('GET', `/v1/mdmServers/${linkId}/tokenTimeline`)).data.attributes;
    return h('section', { 'aria-labelledby': 'timeline-heading' }, h('h2', { id: 'timeline-heading' }, 'Token timeline'), timelineChart(t.events, t.now));
  } catch (error) {
    return h('p', { class: 'error' }, error.message);
  }
}
