// dms-link web console: Devices > Management Services, as in Apple Business, over the admin API.
import { api, apiJson, ApiError, downloadServiceToken, session, uploadCertificate } from './api.js';
import { daysLeft, errorBox, field, fmtDate, h, mount } from './dom.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let me = null;
const can = (permission) => Boolean(me?.permissions.includes(permission));

const STATE_TEXT = {
  PENDING_CERTIFICATE: 'Waiting for public key',
  READY_FOR_TOKEN: 'Ready for token',
  AWAITING_INSTALLATION: 'Awaiting installation',
  ACTIVE: 'Active',
  EXPIRED: 'Token expired',
  REPLACEMENT_REQUIRED: 'Replacement required',
  DELETED: 'Deleted',
};

function page(title, ...content) {
  document.title = `${title} — dms-link`;
  mount(main, h('h1', {}, title), ...content);
  main.focus();
}

function header() {
  if (!me) return mount(top, h('span', { class: 'brand' }, 'dms-link'));
  mount(
    top,
    h('span', { class: 'brand' }, `dms-link · ${me.organization.name}`),
    h('nav', { 'aria-label': 'Main' },
      h('a', { href: '#/services' }, 'Devices › Management Services'),
      can('users.manage') ? h('a', { href: '#/users' }, 'Users') : null,
      can('users.manage') ? h('a', { href: '#/roles' }, 'Roles') : null,
    ),
    h('span', {}, `${me.name} (${me.role})`),
    h('button', { class: 'secondary', type: 'button', onclick: signOut }, 'Sign out'),
  );
}

function signOut() {
  session.key = null;
  me = null;
  location.hash = '#/signin';
}

// ---------- sign in ----------
function signInView() {
  const input = h('input', { id: 'api-key', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'api-key-hint' });
  const err = errorBox('signin-error');
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      session.key = input.value.trim();
      try {
        await loadMe();
        location.hash = '#/services';
      } catch (error) {
        session.key = null;
        err.textContent = error instanceof ApiError ? error.message : 'Could not reach the service.';
      }
    },
  }, ...field('api-key', 'API key', input, 'The key printed by npm start or given to you by an administrator.'), err, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')));
  page('Sign in', form);
}

async function loadMe() {
  const doc = await apiJson('GET', '/v1/me');
  me = { id: doc.data.id, ...doc.data.attributes };
  header();
}

// ---------- Management Services ----------
function stateCell(attrs) {
  const left = daysLeft(attrs.serviceToken?.expiresDateTime);
  const badges = [];
  if (attrs.linkState === 'REPLACEMENT_REQUIRED') badges.push(h('span', { class: 'badge bad' }, `Replacement required${attrs.replacementReason ? ` (${attrs.replacementReason})` : ''}`));
  else if (attrs.linkState === 'EXPIRED') badges.push(h('span', { class: 'badge bad' }, 'Token expired'));
  else badges.push(h('span', { class: attrs.linkState === 'ACTIVE' ? 'badge ok' : 'badge' }, STATE_TEXT[attrs.linkState] ?? attrs.linkState));
  if (left !== null && left >= 0 && left <= 30 && attrs.linkState !== 'EXPIRED') badges.push(' ', h('span', { class: 'badge warn' }, 'Expiring soon'));
  return badges;
}

async function servicesView() {
  const doc = await apiJson('GET', '/v1/mdmServers?limit=1000');
  const servers = doc.data;
  if (servers.length === 0) {
    page('Management Services',
      h('p', {}, 'No device management service is set up yet. Link an external device management (MDM) service to assign devices to it.'),
      can('dms.add') ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => (location.hash = '#/connect') }, 'Get Started')) : null);
    return;
  }
  const rows = servers.map(({ id, attributes: a }) => {
    const left = daysLeft(a.serviceToken?.expiresDateTime);
    return h('tr', {},
      h('td', { 'data-label': 'Name' }, h('a', { href: `#/services/${id}` }, a.serverName)),
      h('td', { 'data-label': 'State' }, stateCell(a)),
      h('td', { 'data-label': 'Type' }, a.serverType === 'BUILT_IN' ? 'Built-in' : 'External (MDM)'),
      h('td', { 'data-label': 'Release Devices' }, a.allowReleaseDevices ? 'Allowed' : 'Not allowed'),
      h('td', { 'data-label': 'Token expires' }, fmtDate(a.serviceToken?.expiresDateTime)),
      h('td', { 'data-label': 'Days left' }, left === null ? '—' : String(Math.max(left, 0))),
    );
  });
  page('Management Services',
    can('dms.add') ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: connectIntro }, 'Connect external device management')) : null,
    h('div', { id: 'connect-intro' }),
    h('table', { 'aria-label': 'Device management services' },
      h('thead', {}, h('tr', {}, ['Name', 'State', 'Type', 'Release Devices', 'Token expires', 'Days left'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

function connectIntro() {
  mount(document.getElementById('connect-intro'),
    h('div', { class: 'notice' },
      h('p', {}, 'You need the public key certificate file (.pem or .der) from your device management service. Apple Business encrypts the service token to it; the service installs the token by using it.'),
      h('button', { type: 'button', onclick: () => (location.hash = '#/connect') }, 'Continue')));
}

// ---------- the connect flow: name → certificate → token → done ----------
function steps(current) {
  return h('ol', { class: 'steps', 'aria-label': 'Steps' }, ['Name', 'Public key', 'Service token'].map((s, i) => h('li', { class: i === current ? 'current' : '', 'aria-current': i === current ? 'step' : false }, `${i + 1}. ${s}`)));
}

function connectView() {
  const name = h('input', { id: 'server-name', type: 'text', maxlength: 200, required: true, 'aria-describedby': 'server-name-hint' });
  const release = h('input', { id: 'release-devices', type: 'checkbox' });
  const err = errorBox('name-error');
  page('Connect external device management', steps(0),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          const doc = await apiJson('POST', '/v1/mdmServers', { json: { data: { type: 'mdmServers', attributes: { serverName: name.value, allowReleaseDevices: release.checked } } } });
          certificateStep(doc.data.id, doc.data.attributes.serverName);
        } catch (error) {
          err.textContent = error.message;
          name.setAttribute('aria-invalid', 'true');
          name.focus();
        }
      },
    },
    ...field('server-name', 'Name', name, 'A unique name, e.g. a building, room or job function. It need not be a domain name; "Unassigned" and "Reassigned" are reserved.'),
    err,
    h('label', { class: 'inline', for: 'release-devices' }, release, h('span', {}, 'Release Devices')),
    h('p', { class: 'hint' }, 'Allows this device management service to release devices from your organization. Leave it unchecked unless the service needs that ability.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Next'))));
}

function certificateStep(linkId, serverName) {
  const file = h('input', { id: 'certificate-file', type: 'file', accept: '.pem,.der,.crt,.cer', required: true });
  const err = errorBox('certificate-error');
  page(`Connect ${serverName}`, steps(1),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        const chosen = file.files?.[0];
        if (!chosen) { err.textContent = 'Choose the public key certificate file first.'; return; }
        try {
          await uploadCertificate(linkId, chosen);
          tokenStep(linkId, serverName);
        } catch (error) {
          err.textContent = error.message;
          file.focus();
        }
      },
    },
    ...field('certificate-file', 'Public key certificate (.pem or .der)', file, 'The certificate file from your device management service. A file holding a private key is refused.'),
    err,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Next'))));
}

function tokenStep(linkId, serverName) {
  const err = errorBox('token-error');
  const status = h('p', { role: 'status', id: 'token-status' });
  page(`Connect ${serverName}`, steps(2),
    h('p', {}, 'Download the service token and upload it to your device management service, as its documentation describes. The service installs it by using it.'),
    h('div', { class: 'actions' },
      h('button', {
        type: 'button',
        id: 'download-token',
        onclick: async () => {
          err.textContent = '';
          try {
            status.textContent = `Downloaded ${await downloadServiceToken(linkId, serverName)}`;
          } catch (error) {
            err.textContent = error.message;
          }
        },
      }, 'Download Service Token'),
      h('button', { type: 'button', class: 'secondary', onclick: () => (location.hash = '#/services') }, 'Done')),
    status, err);
}

// ---------- one service ----------
async function serviceView(id) {
  const a = (await apiJson('GET', `/v1/mdmServers/${id}`)).data.attributes;
  const err = errorBox('service-error');
  const status = h('p', { role: 'status' });
  const act = (label, fn, cls = '') => h('button', {
    type: 'button',
    class: cls,
    onclick: async () => {
      err.textContent = '';
      try { await fn(); } catch (error) { err.textContent = error.message; }
    },
  }, label);
  const external = a.serverType !== 'BUILT_IN';
  const rename = h('input', { id: 'rename', type: 'text', value: a.serverName });
  const newKey = h('input', { id: 'new-certificate', type: 'file', accept: '.pem,.der,.crt,.cer' });
  const release = h('input', { id: 'release-toggle', type: 'checkbox', checked: a.allowReleaseDevices, disabled: !can('dms.add') });
  release.addEventListener('change', async () => {
    try {
      await apiJson('PATCH', `/v1/mdmServers/${id}`, { json: { data: { type: 'mdmServers', attributes: { allowReleaseDevices: release.checked } } } });
      status.textContent = `Release Devices ${release.checked ? 'allowed' : 'not allowed'}.`;
    } catch (error) {
      err.textContent = error.message;
    }
  });
  page(a.serverName,
    h('p', { class: 'crumb' }, h('a', { href: '#/services' }, 'Management Services'), ' › ', a.serverName),
    h('dl', { class: 'facts' },
      h('dt', {}, 'State'), h('dd', {}, stateCell(a)),
      h('dt', {}, 'Type'), h('dd', {}, external ? 'External (MDM)' : 'Built-in'),
      h('dt', {}, 'Public key'), h('dd', {}, a.certificate ? `${a.certificate.subject} (valid until ${fmtDate(a.certificate.notAfter)})` : '—'),
      h('dt', {}, 'Token issued'), h('dd', {}, fmtDate(a.serviceToken?.issuedDateTime)),
      h('dt', {}, 'Token expires'), h('dd', {}, fmtDate(a.serviceToken?.expiresDateTime)),
      h('dt', {}, 'Downloaded by'), h('dd', {}, a.serviceToken?.downloadedBy?.name ?? '—'),
      h('dt', {}, 'Installed'), h('dd', {}, fmtDate(a.serviceToken?.installedDateTime))),
    h('label', { class: 'inline', for: 'release-toggle' }, release, h('span', {}, 'Release Devices: allow this service to release devices from your organization')),
    err, status,
    external && can('dms.manageTokens') && a.certificate
      ? h('div', { class: 'actions' }, act('Download new service token', async () => {
          status.textContent = `Downloaded ${await downloadServiceToken(id, a.serverName)}. The previous token stops working.`;
        }))
      : null,
    external && can('dms.manageTokens')
      ? h('form', {
          onsubmit: async (e) => {
            e.preventDefault();
            err.textContent = '';
            const chosen = newKey.files?.[0];
            if (!chosen) { err.textContent = 'Choose the new public key certificate file first.'; return; }
            try { await uploadCertificate(id, chosen); await route(); } catch (error) { err.textContent = error.message; }
          },
        }, ...field('new-certificate', 'Upload a new public key', newKey, 'After a new public key, download a new service token: the link shows Replacement required until you do.'), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Upload public key')))
      : null,
    can('dms.add')
      ? h('form', {
          onsubmit: async (e) => {
            e.preventDefault();
            err.textContent = '';
            try {
              await apiJson('PATCH', `/v1/mdmServers/${id}`, { json: { data: { type: 'mdmServers', attributes: { serverName: rename.value } } } });
              await route();
            } catch (error) { err.textContent = error.message; }
          },
        }, ...field('rename', 'Name', rename), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Rename')))
      : null,
    can('dms.delete')
      ? h('div', { class: 'actions' }, act('Delete…', async () => {
          if (!window.confirm(`Delete "${a.serverName}"? Its service token stops working and the name becomes free.`)) return;
          await api('DELETE', `/v1/mdmServers/${id}`);
          location.hash = '#/services';
        }, 'danger'))
      : null,
    h('h2', {}, 'History'),
    await historyList(id));
}

async function historyList(linkId) {
  if (!can('audit.view')) return h('p', { class: 'hint' }, 'Your role cannot view the history (audit.view).');
  try {
    const doc = await apiJson('GET', `/v1/auditEvents?filter[linkId]=${encodeURIComponent(linkId)}&limit=100`);
    if (!doc.data.length) return h('p', {}, 'No events yet.');
    return h('table', { 'aria-label': 'History' },
      h('thead', {}, h('tr', {}, ['When', 'What', 'Who', 'Outcome'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, doc.data.map(({ attributes: e }) => h('tr', {},
        h('td', { 'data-label': 'When' }, fmtDate(e.createdDateTime)),
        h('td', { 'data-label': 'What' }, e.action),
        h('td', { 'data-label': 'Who' }, e.actor),
        h('td', { 'data-label': 'Outcome' }, e.outcome)))));
  } catch (error) {
    return h('p', { class: 'error' }, error.message);
  }
}

// ---------- users and roles ----------
async function roleOptions(selected) {
  const roles = (await apiJson('GET', '/v1/roles')).data;
  return roles.map((r) => h('option', { value: r.id, selected: r.id === selected }, r.attributes.name));
}

async function usersView() {
  const users = (await apiJson('GET', '/v1/users')).data;
  const err = errorBox('users-error');
  const out = h('div', { role: 'status' });
  const name = h('input', { id: 'user-name', type: 'text', required: true });
  const email = h('input', { id: 'user-email', type: 'email', required: true });
  const role = h('select', { id: 'user-role' }, await roleOptions('Viewer'));
  const rows = await Promise.all(users.map(async ({ id, attributes: u }) => {
    const select = h('select', { 'aria-label': `Role of ${u.name}`, disabled: Boolean(u.departedDateTime) }, await roleOptions(u.role));
    select.addEventListener('change', async () => {
      try { await apiJson('PATCH', `/v1/users/${id}`, { json: { data: { type: 'users', attributes: { role: select.value } } } }); out.textContent = `${u.name} is now ${select.selectedOptions[0].textContent}.`; }
      catch (error) { err.textContent = error.message; }
    });
    const event = (label, path) => h('button', {
      type: 'button', class: 'secondary', disabled: Boolean(u.departedDateTime),
      onclick: async () => {
        try { await apiJson('POST', `/v1/users/${id}/${path}`); await route(); } catch (error) { err.textContent = error.message; }
      },
    }, label);
    return h('tr', {},
      h('td', { 'data-label': 'Name' }, u.name), h('td', { 'data-label': 'Email' }, u.email), h('td', { 'data-label': 'Role' }, select),
      h('td', { 'data-label': 'Status' }, u.departedDateTime ? `Left ${fmtDate(u.departedDateTime)}` : 'Active'),
      h('td', { 'data-label': 'Actions' }, event('Record password change', 'passwordChanges'), ' ', event('Record departure', 'departure')));
  }));
  page('Users',
    h('table', { 'aria-label': 'Users' }, h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)),
    err, out,
    h('h2', {}, 'Add a user'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          const doc = await apiJson('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name: name.value, email: email.value, role: role.value } } } });
          mount(out, h('div', { class: 'notice' }, h('p', {}, `API key for ${name.value} (shown once, copy it now):`), h('p', { class: 'secret' }, doc.meta.apiKey)));
        } catch (error) { err.textContent = error.message; }
      },
    }, ...field('user-name', 'Name', name), ...field('user-email', 'Email', email), ...field('user-role', 'Role', role), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add user'))));
}

async function rolesView() {
  const roles = (await apiJson('GET', '/v1/roles')).data;
  const err = errorBox('roles-error');
  const name = h('input', { id: 'role-name', type: 'text', required: true });
  const perms = me.permissions.length ? ['dms.view', 'dms.add', 'dms.delete', 'dms.manageTokens', 'users.manage', 'audit.view'] : [];
  const boxes = perms.map((p) => h('input', { type: 'checkbox', id: `perm-${p}`, value: p }));
  page('Roles',
    h('table', { 'aria-label': 'Roles' }, h('thead', {}, h('tr', {}, ['Role', 'Permissions', 'Kind'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, roles.map(({ attributes: r }) => h('tr', {}, h('td', { 'data-label': 'Role' }, r.name), h('td', { 'data-label': 'Permissions' }, r.permissions.join(', ')), h('td', { 'data-label': 'Kind' }, r.builtIn ? 'Built-in' : 'Custom'))))),
    h('h2', {}, 'Create a role'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          await apiJson('POST', '/v1/roles', { json: { data: { type: 'roles', attributes: { name: name.value, permissions: boxes.filter((b) => b.checked).map((b) => b.value) } } } });
          await route();
        } catch (error) { err.textContent = error.message; }
      },
    }, ...field('role-name', 'Name', name), h('fieldset', {}, h('legend', {}, 'Permissions'), boxes.map((b) => h('label', { class: 'inline', for: b.id }, b, h('span', {}, b.value)))), err, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create role'))));
}

// ---------- routing ----------
async function route() {
  const hash = location.hash || '#/services';
  if (!session.key) { if (hash !== '#/signin') location.hash = '#/signin'; else signInView(); return; }
  try {
    if (!me) await loadMe();
    if (hash === '#/signin') return signInView();
    if (hash === '#/connect') return connectView();
    if (hash === '#/users') return await usersView();
    if (hash === '#/roles') return await rolesView();
    const service = /^#\/services\/([0-9a-f-]{36})$/.exec(hash);
    if (service) return await serviceView(service[1]);
    return await servicesView();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut();
    page('Something went wrong', h('p', { class: 'error', role: 'alert' }, error.message));
  }
}

window.addEventListener('hashchange', () => void route());
void route();
