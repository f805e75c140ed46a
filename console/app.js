// dms-link web console: Devices > Management Services, as in Apple Business, over the admin API.
import { api, apiJson, ApiError, downloadServiceToken, session, uploadCertificate } from './api.js';
import { daysLeft, errorBox, field, fmtDate, h, mount } from './dom.js';
import { enrolView, linkView, signInView as peopleSignInView, verifyView } from './sign-in.js';
import { homeView, tokenTimelineSection } from './home.js';
import { accountView } from './account.js';
import { peopleView } from './people.js';
import { notificationsView } from './notifications.js';
import { renderTermsBanner } from './terms.js';
import { defaultAssignmentsView, devicesView, serviceDevicesFact } from './devices.js';
import { activitiesView, activityView } from './activities.js';
import { importResultView, importView } from './imports.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let me = null;
/** A message for the next page (what the last action did), shown once as a status line. */
let flash = '';
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

const REASON_TEXT = {
  NEW_PUBLIC_KEY: 'new public key',
  PASSWORD_CHANGED: 'password changed',
  USER_DEPARTED: 'user left',
};

function page(title, ...content) {
  document.title = `${title} — dms-link`;
  const said = flash ? h('p', { class: 'notice', role: 'status' }, flash) : null;
  flash = '';
  const terms = h('div', { id: 'terms-banner' });
  mount(main, h('h1', {}, title), said, terms, ...content);
  void renderTermsBanner(terms, me, reloadWith);
  main.focus();
}

/** Re-renders the current page with a message about what just happened. */
async function reloadWith(message) {
  flash = message;
  await route();
}

function header() {
  if (!me) return mount(top, h('span', { class: 'brand' }, 'dms-link'));
  mount(
    top,
    h('span', { class: 'brand' }, `dms-link · ${me.organization.name}`),
    h('nav', { 'aria-label': 'Main' },
      h('a', { href: '#/home' }, 'Home'),
      can('devices.view') ? h('a', { href: '#/devices' }, 'Devices') : null,
      can('devices.view') ? h('a', { href: '#/activities' }, 'Device activities') : null,
      h('a', { href: '#/services' }, 'Devices › Management Services'),
      can('dms.view') ? h('a', { href: '#/notifications' }, 'Notifications') : null,
      can('users.manage') ? h('a', { href: '#/people' }, 'People') : null,
      can('users.manage') ? h('a', { href: '#/users' }, 'Users') : null,
      can('users.manage') ? h('a', { href: '#/roles' }, 'Roles') : null,
    ),
    h('a', { href: '#/account' }, `${me.name} (${me.roleName ?? me.role})`),
    h('button', { class: 'secondary', type: 'button', onclick: signOut }, 'Sign out'),
  );
}

/** Forgets the key (and who it belongs to); `message` says why when the API refused the key. */
function signOut(message) {
  // A person's session ends on the server too; an API key is simply forgotten.
  if (!session.key) void api('POST', '/v1/auth/signOut').catch(() => undefined);
  session.key = null;
  me = null;
  header();
  flash = typeof message === 'string' ? message : '';
  if (location.hash === '#/signin') signInView();
  else location.hash = '#/signin';
}

// ---------- sign in ----------
/** What the account pages (sign-in.js, home.js, account.js, people.js) need of this one. */
const ui = {
  page,
  can,
  me: () => me,
  flash: (message) => { flash = message; },
  async signedIn(hash) {
    me = null;
    await loadMe();
    if (location.hash === hash) await route();
    else location.hash = hash;
  },
  signedOut: (message) => signOut(message),
};

function signInView() {
  return peopleSignInView(ui, { ssoFailed: location.hash === '#/signin/sso-failed' });
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
  if (attrs.linkState === 'REPLACEMENT_REQUIRED') {
    const reason = attrs.replacementReason ? ` (${REASON_TEXT[attrs.replacementReason] ?? attrs.replacementReason})` : '';
    badges.push(h('span', { class: 'badge bad' }, `⚠ Replacement required${reason}`));
  }
  else if (attrs.linkState === 'EXPIRED') badges.push(h('span', { class: 'badge bad' }, '⚠ Token expired'));
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
    const attention = a.linkState === 'REPLACEMENT_REQUIRED' || a.linkState === 'EXPIRED' || (left !== null && left <= 30);
    return h('tr', { class: attention ? 'attention' : '' },
      h('td', { 'data-label': 'Name' }, h('a', { href: `#/services/${id}` }, a.serverName)),
      h('td', { 'data-label': 'State' }, stateCell(a)),
      h('td', { 'data-label': 'Type' }, a.serverType === 'BUILT_IN' ? 'Built-in' : 'External (MDM)'),
      h('td', { 'data-label': 'Release Devices' }, a.allowReleaseDevices ? 'Allowed' : 'Not allowed'),
      h('td', { 'data-label': 'Token expires' }, fmtDate(a.serviceToken?.expiresDateTime)),
      h('td', { 'data-label': 'Days left' }, left === null ? '—' : String(Math.max(left, 0))),
    );
  });
  page('Management Services',
    h('p', { class: 'hint' }, `${servers.length} service${servers.length === 1 ? '' : 's'}. Tokens expiring within 30 days are marked "Expiring soon": download a new one well before.`),
    can('dms.add') ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: connectIntro }, 'Connect external device management')) : null,
    h('div', { id: 'connect-intro' }),
    h('table', { 'aria-label': 'Device management services' },
      h('thead', {}, h('tr', {}, ['Name', 'State', 'Type', 'Release Devices', 'Token expires', 'Days left'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)),
    doc.meta?.paging?.nextCursor ? h('p', { class: 'hint' }, 'The first 1000 services; the API (GET /v1/mdmServers) pages through the rest.') : null);
}

function connectIntro() {
  const next = h('button', { type: 'button', onclick: () => (location.hash = '#/connect') }, 'Continue');
  mount(document.getElementById('connect-intro'),
    h('div', { class: 'notice' },
      h('p', {}, 'You need the public key certificate file (.pem or .der) from your device management service. The service token is encrypted to it; the service installs the token by using it.'),
      next));
  next.focus();
}

// ---------- the connect flow: name → certificate → token → done ----------
function steps(current) {
  return h('ol', { class: 'steps', 'aria-label': 'Steps' }, ['Name', 'Public key', 'Service token'].map((s, i) => h('li', { class: i === current ? 'current' : '', 'aria-current': i === current ? 'step' : false }, `${i + 1}. ${s}`)));
}

function connectView() {
  const name = h('input', { id: 'server-name', type: 'text', maxlength: 200, required: true, autocomplete: 'off', 'aria-describedby': 'server-name-hint name-error' });
  const release = h('input', { id: 'release-devices', type: 'checkbox', 'aria-describedby': 'release-devices-hint' });
  const err = errorBox('name-error');
  page('Connect external device management', steps(0),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        name.removeAttribute('aria-invalid');
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
    h('p', { class: 'hint', id: 'release-devices-hint' }, 'Allows this device management service to release devices from your organization. Leave it unchecked unless the service needs that ability.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Next'))));
}

function certificateStep(linkId, serverName) {
  const file = h('input', { id: 'certificate-file', type: 'file', accept: '.pem,.der,.crt,.cer', required: true, 'aria-describedby': 'certificate-file-hint certificate-error' });
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
  const attempt = (fn) => async (e) => {
    e?.preventDefault?.();
    err.textContent = '';
    try { await fn(); } catch (error) { err.textContent = error.message; }
  };
  const external = a.serverType !== 'BUILT_IN';
  const patch = (attributes) => apiJson('PATCH', `/v1/mdmServers/${id}`, { json: { data: { type: 'mdmServers', attributes } } });

  let release;
  if (can('dms.add')) {
    const box = h('input', { id: 'release-toggle', type: 'checkbox', checked: a.allowReleaseDevices, 'aria-describedby': 'release-toggle-hint' });
    box.addEventListener('change', attempt(async () => {
      try {
        await patch({ allowReleaseDevices: box.checked });
        status.textContent = `Release Devices ${box.checked ? 'allowed' : 'not allowed'}.`;
      } catch (error) {
        box.checked = !box.checked;
        throw error;
      }
    }));
    release = [
      h('label', { class: 'inline', for: 'release-toggle' }, box, h('span', {}, 'Release Devices')),
      h('p', { class: 'hint', id: 'release-toggle-hint' }, 'Allows this device management service to release devices from your organization.'),
    ];
  }

  const tokenActions = [];
  if (external && can('dms.manageTokens')) {
    if (a.certificate) {
      tokenActions.push(h('div', { class: 'actions' }, h('button', {
        type: 'button',
        onclick: attempt(async () => {
          const file = await downloadServiceToken(id, a.serverName);
          await reloadWith(`Downloaded ${file}.${a.serviceToken ? ' The previous token no longer works.' : ''} Upload it to your device management service.`);
        }),
      }, a.serviceToken ? 'Replace service token' : 'Download Service Token')));
    }
    const newKey = h('input', { id: 'new-certificate', type: 'file', accept: '.pem,.der,.crt,.cer', required: true, 'aria-describedby': 'new-certificate-hint' });
    tokenActions.push(h('form', {
      onsubmit: attempt(async () => {
        const chosen = newKey.files?.[0];
        if (!chosen) throw new Error('Choose the public key certificate file first.');
        await uploadCertificate(id, chosen);
        await reloadWith(a.serviceToken ? 'New public key uploaded. Download a new service token to replace the current one.' : 'Public key uploaded. Download the service token next.');
      }),
    },
    ...field('new-certificate', a.certificate ? 'Upload a new public key (.pem or .der)' : 'Upload the public key certificate (.pem or .der)', newKey,
      a.serviceToken ? 'After a new public key the link shows Replacement required until you download a new service token; the current token keeps working until then.' : 'The certificate file from your device management service.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Upload public key'))));
  }

  let rename;
  if (can('dms.add')) {
    const input = h('input', { id: 'rename', type: 'text', value: a.serverName, required: true, maxlength: 200 });
    rename = h('form', {
      onsubmit: attempt(async () => {
        await patch({ serverName: input.value });
        await reloadWith('Renamed.');
      }),
    }, ...field('rename', 'Name', input), h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Rename')));
  }

  const remove = can('dms.delete')
    ? h('div', { class: 'actions' }, h('button', {
        type: 'button',
        class: 'danger',
        onclick: attempt(async () => {
          if (!window.confirm(`Delete "${a.serverName}"? Its service token stops working at once and the name becomes free.`)) return;
          await api('DELETE', `/v1/mdmServers/${id}`);
          flash = `Deleted ${a.serverName}.`;
          location.hash = '#/services';
        }),
      }, 'Delete…'))
    : null;

  page(a.serverName,
    h('p', { class: 'crumb' }, h('a', { href: '#/services' }, 'Management Services'), ' › ', a.serverName),
    h('dl', { class: 'facts' },
      h('dt', {}, 'State'), h('dd', { id: 'link-state' }, stateCell(a)),
      h('dt', {}, 'Type'), h('dd', {}, external ? 'External (MDM)' : 'Built-in'),
      h('dt', {}, 'Release Devices'), h('dd', {}, a.allowReleaseDevices ? 'Allowed' : 'Not allowed'),
      h('dt', {}, 'Public key'), h('dd', {}, a.certificate ? `${a.certificate.subject} (valid until ${fmtDate(a.certificate.notAfter)})` : '—'),
      h('dt', {}, 'Token issued'), h('dd', {}, fmtDate(a.serviceToken?.issuedDateTime)),
      h('dt', {}, 'Token expires'), h('dd', {}, expiryText(a.serviceToken?.expiresDateTime)),
      h('dt', {}, 'Downloaded by'), h('dd', {}, a.serviceToken?.downloadedBy?.name ?? '—'),
      h('dt', {}, 'Installed'), h('dd', {}, a.serviceToken ? (a.serviceToken.installedDateTime ? fmtDate(a.serviceToken.installedDateTime) : 'Not yet') : '—'),
      can('devices.view') ? [h('dt', {}, 'Devices'), h('dd', {}, await serviceDevicesFact(id))] : null),
    err, status,
    release, tokenActions, rename, remove,
    await tokenTimelineSection(id),
    h('h2', {}, 'History'),
    await historyList(id));
}

function expiryText(iso) {
  const left = daysLeft(iso);
  if (left === null) return '—';
  return `${fmtDate(iso)} (${left > 0 ? `${left} day${left === 1 ? '' : 's'} left` : 'expired'})`;
}

const ACTOR_TEXT = { mdm: 'MDM service', system: 'dms-link' };

/** An audit event's detail as short text: its plain values (codes, reasons, names), never nested data. */
function detailText(detail) {
  if (!detail || typeof detail !== 'object') return '';
  return Object.entries(detail)
    .filter(([, v]) => ['string', 'number', 'boolean'].includes(typeof v))
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
}

async function historyList(linkId) {
  if (!can('audit.view')) return h('p', { class: 'hint' }, 'Your role does not include viewing the history (audit.view).');
  try {
    const doc = await apiJson('GET', `/v1/auditEvents?filter[linkId]=${encodeURIComponent(linkId)}&limit=100`);
    if (!doc.data.length) return h('p', {}, 'No events yet.');
    // Names for the users who acted, when the role may list users; otherwise "user".
    const names = new Map();
    if (can('users.manage')) for (const u of (await apiJson('GET', '/v1/users?limit=1000')).data) names.set(u.id, u.attributes.name);
    const who = (e) => (e.actorUserId ? names.get(e.actorUserId) ?? 'user' : ACTOR_TEXT[e.actor] ?? e.actor);
    return h('div', {},
      h('table', { 'aria-label': 'History' },
        h('thead', {}, h('tr', {}, ['When', 'What', 'Who', 'Outcome', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, doc.data.map(({ attributes: e }) => h('tr', {},
          h('td', { 'data-label': 'When' }, fmtDate(e.createdDateTime)),
          h('td', { 'data-label': 'What' }, e.action),
          h('td', { 'data-label': 'Who' }, who(e)),
          h('td', { 'data-label': 'Outcome' }, e.outcome),
          h('td', { 'data-label': 'Details' }, detailText(e.detail)))))),
      doc.meta?.paging?.nextCursor ? h('p', { class: 'hint' }, 'The latest 100 events; the API (GET /v1/auditEvents) pages through the rest.') : null);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return h('p', { class: 'notice' }, 'This server does not offer the history of a service yet (no /v1/auditEvents).');
    return h('p', { class: 'error' }, error.message);
  }
}

// ---------- users and roles ----------
const PERMISSIONS = ['dms.view', 'dms.add', 'dms.delete', 'dms.manageTokens', 'users.manage', 'audit.view', 'devices.view', 'devices.manage', 'devices.release'];

function roleOptions(roles, selected) {
  return roles.map((r) => h('option', { value: r.id, selected: r.id === selected }, r.attributes.name));
}

/** Users: list, add (the API key shown once), change role, record a password change or a departure. */
async function usersView(created) {
  const [users, roles] = await Promise.all([apiJson('GET', '/v1/users?limit=1000'), apiJson('GET', '/v1/roles?limit=200')]).then((docs) => docs.map((d) => d.data));
  const err = errorBox('users-error');
  const status = h('p', { role: 'status' });
  const fail = (error) => { err.textContent = error.message; };
  const rows = users.map(({ id, attributes: u }) => {
    const gone = Boolean(u.departedDateTime);
    const select = h('select', { 'aria-label': `Role of ${u.name}`, disabled: gone }, roleOptions(roles, u.role));
    select.addEventListener('change', async () => {
      err.textContent = '';
      try {
        await apiJson('PATCH', `/v1/users/${id}`, { json: { data: { type: 'users', attributes: { role: select.value } } } });
        status.textContent = `${u.name} is now ${select.selectedOptions[0].textContent}.`;
      } catch (error) {
        select.value = u.role;
        fail(error);
      }
    });
    const accountEvent = (label, path, question, done) => h('button', {
      type: 'button',
      class: 'secondary',
      'aria-label': `${label} for ${u.name}`,
      onclick: async () => {
        err.textContent = '';
        if (!window.confirm(question)) return;
        try {
          await apiJson('POST', `/v1/users/${id}/${path}`);
          await reloadWith(done);
        } catch (error) { fail(error); }
      },
    }, label);
    return h('tr', {},
      h('td', { 'data-label': 'Name' }, u.name, id === me.id ? ' (you)' : ''),
      h('td', { 'data-label': 'Email' }, u.email),
      h('td', { 'data-label': 'Role' }, select),
      h('td', { 'data-label': 'Status' }, gone ? `Left ${fmtDate(u.departedDateTime)}` : 'Active',
        u.passwordChangedDateTime ? h('span', { class: 'hint' }, ` · password changed ${fmtDate(u.passwordChangedDateTime)}`) : null),
      h('td', { 'data-label': 'Actions' }, gone ? '—' : h('div', { class: 'row-actions' },
        accountEvent('Record password change', 'passwordChanges',
          `Record that ${u.name} changed their password? Service tokens they downloaded stop working at once and must be replaced.`,
          `Recorded a password change for ${u.name}. Services with a token they downloaded now need a new token.`),
        accountEvent('Record departure', 'departure',
          `Record that ${u.name} left the organization? Their API keys are revoked, and service tokens they downloaded stop working at once.`,
          `Recorded that ${u.name} left. Services with a token they downloaded now need a new token.`))));
  });

  const name = h('input', { id: 'user-name', type: 'text', required: true, maxlength: 200, autocomplete: 'off' });
  const email = h('input', { id: 'user-email', type: 'email', required: true, autocomplete: 'off' });
  const role = h('select', { id: 'user-role' }, roleOptions(roles, 'Viewer'));
  const form = h('form', {
    onsubmit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      try {
        const doc = await apiJson('POST', '/v1/users', { json: { data: { type: 'users', attributes: { name: name.value, email: email.value, role: role.value } } } });
        await usersView({ name: doc.data.attributes.name, apiKey: doc.meta.apiKey });
      } catch (error) { fail(error); }
    },
  }, ...field('user-name', 'Name', name), ...field('user-email', 'Email', email), ...field('user-role', 'Role', role), h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add user')));

  page('Users',
    created
      ? h('div', { class: 'notice', id: 'new-api-key' },
          h('p', {}, `${created.name} was added. Their API key is shown only this once; copy it now and hand it over securely:`),
          h('p', { class: 'secret' }, created.apiKey))
      : null,
    err, status,
    h('table', { 'aria-label': 'Users' }, h('thead', {}, h('tr', {}, ['Name', 'Email', 'Role', 'Status', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)),
    h('h2', {}, 'Add a user'),
    form);
}

async function rolesView() {
  const roles = (await apiJson('GET', '/v1/roles?limit=200')).data;
  const err = errorBox('roles-error');
  const name = h('input', { id: 'role-name', type: 'text', required: true, maxlength: 100 });
  const boxes = PERMISSIONS.map((p) => h('input', { type: 'checkbox', id: `perm-${p}`, value: p }));
  page('Roles',
    h('table', { 'aria-label': 'Roles' }, h('thead', {}, h('tr', {}, ['Role', 'Permissions', 'Kind'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, roles.map(({ attributes: r }) => h('tr', {},
        h('td', { 'data-label': 'Role' }, r.name),
        h('td', { 'data-label': 'Permissions' }, r.permissions.join(', ') || '—'),
        h('td', { 'data-label': 'Kind' }, r.builtIn ? 'Built-in' : 'Custom'))))),
    h('h2', {}, 'Create a role'),
    h('form', {
      onsubmit: async (e) => {
        e.preventDefault();
        err.textContent = '';
        try {
          await apiJson('POST', '/v1/roles', { json: { data: { type: 'roles', attributes: { name: name.value, permissions: boxes.filter((b) => b.checked).map((b) => b.value) } } } });
          await reloadWith(`Created the role ${name.value}.`);
        } catch (error) { err.textContent = error.message; }
      },
    },
    ...field('role-name', 'Name', name),
    h('fieldset', {}, h('legend', {}, 'Permissions'), boxes.map((b) => h('label', { class: 'inline', for: b.id }, b, h('span', {}, b.value)))),
    err,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create role'))));
}

// ---------- routing ----------
/**
 * Renders the page of the address. Pages render when their API calls answer, so a slow page left
 * behind (its answers came late) can draw over the page the address now names: when an older render
 * ends after the newest one has, the newest is drawn again.
 */
let routesStarted = 0;
let newestRendered = 0;
async function route() {
  const seq = ++routesStarted;
  try {
    await routeOnce();
  } finally {
    if (seq === routesStarted) newestRendered = seq;
    else if (newestRendered === routesStarted) void route();
  }
}

async function routeOnce() {
  const hash = location.hash || '#/home';
  const link = /^#\/link\/([\w-]{20,200})$/.exec(hash);
  if (link) return linkView(ui, link[1]);
  if (hash.startsWith('#/signin')) return signInView();
  try {
    // Signed in with an API key (this tab) or as a person (the session cookie): /v1/me says which.
    if (!me) await loadMe();
    if (hash === '#/enrol') return await enrolView(ui);
    if (hash === '#/verify') return await verifyView(ui);
    if (hash === '#/home') return await homeView(ui);
    if (hash === '#/account') return await accountView(ui);
    if (hash === '#/people') return await peopleView(ui);
    if (hash === '#/notifications') return await notificationsView(ui);
    if (hash === '#/connect') return connectView();
    if (hash === '#/users') return await usersView();
    if (hash === '#/roles') return await rolesView();
    if (hash === '#/devices/defaults') return await defaultAssignmentsView(ui);
    if (hash === '#/devices/import') return await importView(ui);
    const deviceImport = /^#\/devices\/imports\/([0-9a-f-]{36})$/.exec(hash);
    if (deviceImport) return await importResultView(ui, deviceImport[1]);
    if (hash === '#/devices' || hash.startsWith('#/devices?')) return await devicesView(ui, hash.slice('#/devices?'.length));
    if (hash === '#/activities' || hash.startsWith('#/activities?')) return await activitiesView(ui, hash.slice('#/activities?'.length));
    const activity = /^#\/activities\/([0-9a-f-]{36})$/.exec(hash);
    if (activity) return await activityView(ui, activity[1]);
    const service = /^#\/services\/([0-9a-f-]{36})$/.exec(hash);
    if (service) return await serviceView(service[1]);
    return await servicesView();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return signOut(me || session.key ? `${error.message} Sign in again.` : '');
    if (error instanceof ApiError && error.code === 'TWO_FACTOR_ENROLMENT_REQUIRED' && hash !== '#/enrol') { location.hash = '#/enrol'; return; }
    if (error instanceof ApiError && error.code === 'TWO_FACTOR_CODE_REQUIRED' && hash !== '#/verify') { location.hash = '#/verify'; return; }
    page('Something went wrong', h('p', { class: 'error', role: 'alert' }, error.message));
  }
}

window.addEventListener('hashchange', () => void route());
void route();
