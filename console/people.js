// People (users.manage): invite by one-time link, see sign-in state, reset a password (warned first),
// unlock. API accounts (keys, no password) are added on the Users page.
import { apiJson } from './api.js';
import { passwordChangeWarning } from './account.js';
import { errorBox, field, fmtDate, h, mount } from './dom.js';

function shownOnce(title, url) {
  return h('div', { class: 'notice', id: 'one-time-link' },
    h('p', {}, `${title} The link is shown only this once and works once; send it to the person securely:`),
    h('p', { class: 'secret' }, url));
}

export async function peopleView(ui, shown) {
  const [users, roles, states] = await Promise.all([apiJson('GET', '/v1/users?limit=1000'), apiJson('GET', '/v1/roles'), apiJson('GET', '/v1/userSignIns')]).then((d) => d.map((x) => x.data));
  const stateOf = new Map(states.map((s) => [s.id, s.attributes]));
  const err = errorBox('people-error');
  const box = h('div', { id: 'people-action', 'aria-live': 'polite' });
  const rows = users.filter(({ id }) => stateOf.get(id)?.kind === 'PERSON').map(({ id, attributes: u }) => {
    const st = stateOf.get(id);
    const reset = h('button', {
      type: 'button', class: 'secondary', 'aria-label': `Reset password of ${u.name}`,
      onclick: async () => {
        err.textContent = '';
        const preview = await apiJson('GET', `/v1/users/${id}/passwordChangePreview`);
        mount(box, h('div', { class: 'warning', role: 'alert' },
          h('p', {}, `Reset the password of ${u.name}? Their current password stops working now and they get a link to set a new one.`),
          passwordChangeWarning(preview, 'they'),
          h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'danger', onclick: async () => {
              try {
                const doc = await apiJson('POST', `/v1/users/${id}/passwordResets`);
                await peopleView(ui, doc.meta.url ? shownOnce(`Password of ${u.name} reset.${doc.meta.emailError ? ` ${doc.meta.emailError}` : ''}`, doc.meta.url) : h('p', { class: 'notice' }, `Password of ${u.name} reset; the link was emailed.`));
              } catch (error) { err.textContent = error.message; }
            } }, 'Reset password'),
            h('button', { type: 'button', class: 'secondary', onclick: () => mount(box) }, 'Cancel'))));
      },
    }, st.passwordSet ? 'Reset password' : 'New invitation link');
    const unlock = st.lockedUntil ? h('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { await apiJson('POST', `/v1/users/${id}/unlock`); await peopleView(ui, h('p', { class: 'notice' }, `${u.name} can sign in again.`)); } catch (error) { err.textContent = error.message; }
    } }, 'Unlock') : null;
    return h('tr', {},
      h('td', { 'data-label': 'Name' }, u.name), h('td', { 'data-label': 'Email' }, u.email), h('td', { 'data-label': 'Role' }, u.roleName),
      h('td', { 'data-label': 'Sign-in' }, u.departedDateTime ? 'Left' : !st.passwordSet ? 'Invited' : st.lockedUntil ? `Locked until ${fmtDate(st.lockedUntil)}` : 'Active',
        st.twoFactorEnabled ? ' · two-factor on' : ''),
      h('td', { 'data-label': 'Actions' }, u.departedDateTime ? '—' : h('div', { class: 'row-actions' }, reset, unlock)));
  });
  const name = h('input', { id: 'invite-name', type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const email = h('input', { id: 'invite-email', type: 'email', required: true, autocomplete: 'off' });
  const role = h('select', { id: 'invite-role' }, roles.map((r) => h('option', { value: r.id, selected: r.id === 'Viewer' }, r.attributes.name)));
  ui.page('People',
    shown ?? null, err, box,
    h('table', { 'aria-label': 'People' }, h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', 'Sign-in', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)),
    h('h2', {}, 'Invite a person'),
    h('p', { class: 'hint' }, 'They get a one-time link to set their password (by email when the server has SMTP; otherwise it is shown here once). Administrators also set up two-factor.'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          const doc = await apiJson('POST', '/v1/invitations', { json: { data: { type: 'invitations', attributes: { name: name.value, email: email.value, role: role.value } } } });
          await peopleView(ui, doc.meta.invitationUrl ? shownOnce(`${name.value} is invited.${doc.meta.emailError ? ` ${doc.meta.emailError}` : ''}`, doc.meta.invitationUrl) : h('p', { class: 'notice' }, `${name.value} is invited; the link was emailed.`));
        } catch (error) { err.textContent = error.message; }
      },
    }, ...field('invite-name', 'Name', name), ...field('invite-email', 'Email', email), ...field('invite-role', 'Role', role), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Invite'))));
}
