// My account: change my password (warned first which service tokens stop working), sign out everywhere.
import { apiJson } from './api.js';
import { errorBox, field, h, mount } from './dom.js';

/** The warning before a password change: how many tokens stop working and which services need a new one. */
export function passwordChangeWarning(preview, whose) {
  const { serviceTokensThatStopWorking: n, services } = preview.data.attributes;
  if (n === 0) return h('p', {}, `No service token ${whose} downloaded is in use, so no service is affected.`);
  return [
    h('p', {}, h('strong', {}, `${n} service token${n === 1 ? '' : 's'} ${whose} downloaded will stop working at once.`),
      ` ${n === 1 ? 'This service needs' : 'These services need'} a new token, which someone with token permissions must download and install:`),
    h('ul', { id: 'affected-services' }, services.map((s) => h('li', {}, h('a', { href: `#/services/${s.id}` }, s.serverName)))),
  ];
}

export async function accountView(ui) {
  const me = ui.me();
  const signIn = (await apiJson('GET', '/v1/me/signIn')).data.attributes;
  const err = errorBox('password-error');
  const current = h('input', { id: 'current-password', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { id: 'next-password', type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': 'next-password-hint' });
  const code = signIn.twoFactorEnabled ? h('input', { id: 'change-code', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 8, required: true }) : null;
  const confirmBox = h('div', { id: 'password-warning', 'aria-live': 'polite' });
  const change = async () => {
    err.textContent = '';
    try {
      const doc = await apiJson('POST', '/v1/me/passwordChanges', { json: { currentPassword: current.value, newPassword: next.value, ...(code ? { code: code.value } : {}) } });
      const n = doc.data.attributes.serviceTokensRevoked;
      ui.flash(`Password changed. ${n} service token${n === 1 ? '' : 's'} you downloaded stopped working; the services show Replacement required. Your other sessions were signed out.`);
      location.hash = '#/services';
    } catch (error) {
      mount(confirmBox);
      err.textContent = error.message;
    }
  };
  const form = signIn.passwordSet
    ? h('form', {
        onsubmit: async (e) => {
          e.preventDefault();
          err.textContent = '';
          const preview = await apiJson('GET', '/v1/me/passwordChangePreview');
          mount(confirmBox, h('div', { class: 'warning', role: 'alert' }, passwordChangeWarning(preview, 'you'),
            h('div', { class: 'actions' },
              h('button', { type: 'button', class: 'danger', id: 'confirm-password-change', onclick: change }, 'Change password'),
              h('button', { type: 'button', class: 'secondary', onclick: () => mount(confirmBox) }, 'Cancel'))));
          confirmBox.querySelector('button')?.focus();
        },
      },
      ...field('current-password', 'Current password', current),
      ...field('next-password', 'New password', next, 'At least 12 characters; not a common password, not your name or email.'),
      ...(code ? field('change-code', 'Two-factor code', code) : []),
      err, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Continue')), confirmBox)
    : h('p', { class: 'hint' }, 'You sign in with an API key or single sign-on; there is no password here to change.');
  ui.page('My account',
    h('dl', { class: 'facts' },
      h('dt', {}, 'Name'), h('dd', {}, me.name), h('dt', {}, 'Email'), h('dd', {}, me.email ?? '—'), h('dt', {}, 'Role'), h('dd', {}, me.roleName ?? me.role),
      h('dt', {}, 'Two-factor'), h('dd', {}, signIn.twoFactorEnabled ? 'On' : signIn.twoFactorRequired ? 'Required, not set up' : 'Off')),
    !signIn.twoFactorEnabled && signIn.person ? h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/enrol' }, 'Set up two-factor')) : null,
    h('h2', {}, 'Change password'),
    h('p', { class: 'hint' }, 'Changing your password stops the service tokens you downloaded, as Apple Business does: you see which services are affected before you confirm.'),
    form,
    h('h2', {}, 'Sessions'),
    h('div', { class: 'actions' }, h('button', {
      type: 'button', class: 'secondary',
      onclick: async () => { await apiJson('DELETE', '/v1/me/sessions'); ui.signedOut('You were signed out of every session.'); },
    }, 'Sign out everywhere')));
}
