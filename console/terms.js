// The terms and conditions banner: new terms block the organization's MDM services (403
// T_C_NOT_SIGNED) until an Administrator accepts them, so every page says so until then.
import { apiJson } from './api.js';
import { errorBox, fmtDate, h, mount } from './dom.js';

/** Fills `target` with the banner when the current terms are not accepted (else leaves it empty). */
export async function renderTermsBanner(target, me, onAccepted) {
  if (!target || !me) return;
  let doc;
  try {
    doc = await apiJson('GET', '/v1/terms');
  } catch {
    return; // the page itself reports API trouble
  }
  const terms = doc?.data;
  if (!terms || terms.attributes.accepted) return mount(target);
  const a = terms.attributes;
  const error = errorBox('terms-error');
  const accept = async (event) => {
    event.target.disabled = true;
    try {
      await apiJson('POST', `/v1/terms/${terms.id}/acceptance`);
      await onAccepted(`Terms "${a.title}" accepted: your device management services can connect again.`);
    } catch (e) {
      error.textContent = e.message;
      event.target.disabled = false;
    }
  };
  mount(target,
    h('section', { class: 'notice attention', role: 'region', 'aria-label': 'Terms and conditions' },
      h('h2', {}, 'New terms and conditions'),
      h('p', {}, 'Your device management services cannot connect (they get "T_C_NOT_SIGNED") until an Administrator accepts ',
        h('a', { href: a.url, target: '_blank', rel: 'noopener noreferrer' }, a.title), ` (version ${a.version}, published ${fmtDate(a.publishedDateTime)}).`),
      me.role === 'Administrator'
        ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: accept }, 'Accept terms and conditions'))
        : h('p', { class: 'hint' }, 'Ask an Administrator of your organization to accept them.'),
      error));
}
