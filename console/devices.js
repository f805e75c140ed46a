// Devices (Apple Business: Devices): the organization's devices with filters and cursor paging; the
// selected devices are assigned to a service, unassigned, released (behind a typed confirmation), or
// migrated to a new service with a deadline (which can be moved or cancelled).
// Every change is a device activity (POST /v1/orgDeviceActivities); the console then shows its
// progress. Default device assignment per product family has its own page.
import { apiJson, ApiError, newIdempotencyKey } from './api.js';
import { errorBox, field, fmtDate, h, mount } from './dom.js';

export const PRODUCT_FAMILIES = ['iPhone', 'iPad', 'Mac', 'AppleTV', 'Watch', 'Vision', 'iPod'];
const PAGE_SIZES = ['25', '50', '100'];
/** What a person types to release devices: deliberate, and the same in every language of the page. */
const RELEASE_WORD = 'RELEASE';

/** The organization's services that can take devices (name and id); [] when the role may not list them. */
export async function loadServices() {
  try {
    const doc = await apiJson('GET', '/v1/mdmServers?limit=1000');
    return doc.data.filter((s) => s.attributes.linkState !== 'DELETED').map((s) => ({ id: s.id, name: s.attributes.serverName }));
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return [];
    throw error;
  }
}

/** The Devices page's state lives in its hash (#/devices?status=…), so a service page can link to its devices. */
function filtersOf(query) {
  const p = new URLSearchParams(query);
  const get = (k) => p.get(k) ?? '';
  return { productFamily: get('productFamily'), status: get('status'), assignedServer: get('assignedServer'), serial: get('serial'), limit: PAGE_SIZES.includes(get('limit')) ? get('limit') : '50', cursor: get('cursor') };
}

function hashOf(f) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v && !(k === 'limit' && v === '50')) p.set(k, v);
  const q = p.toString();
  return q ? `#/devices?${q}` : '#/devices';
}

/**
 * Cursors of the pages before this one, so "Previous page" works: the API's cursors only go
 * forward. Kept for one set of filters; other filters start again at the first page.
 */
let trail = { filters: '', cursors: [] };

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `#/devices[?productFamily=…&status=…&assignedServer=…&serial=…&limit=…&cursor=…]`. */
export async function devicesView(ui, query) {
  const f = filtersOf(query);
  const filterKey = hashOf({ ...f, cursor: '' });
  if (trail.filters !== filterKey) trail = { filters: filterKey, cursors: [] };

  const services = await loadServices();
  const names = new Map(services.map((s) => [s.id, s.name]));
  const err = errorBox('devices-error');

  // The list itself: a filter the API refuses (say, a serial prefix with a dash) is shown as the
  // API's words next to the filters, and the filters stay usable.
  const params = new URLSearchParams({ limit: f.limit });
  if (f.productFamily) params.set('filter[productFamily]', f.productFamily);
  if (f.status) params.set('filter[status]', f.status);
  if (f.assignedServer) params.set('filter[assignedServer]', f.assignedServer);
  if (f.serial) params.set('filter[serialNumber]', f.serial);
  if (f.cursor) params.set('cursor', f.cursor);
  let doc = { data: [], meta: {} };
  try {
    doc = await apiJson('GET', `/v1/orgDevices?${params}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 400) throw error;
    err.textContent = error.message;
  }

  // Filters.
  const family = h('select', { id: 'filter-family' }, h('option', { value: '' }, 'All product families'), PRODUCT_FAMILIES.map((x) => h('option', { value: x, selected: x === f.productFamily }, x)));
  const status = h('select', { id: 'filter-status' },
    [['', 'Any status'], ['ASSIGNED', 'Assigned'], ['UNASSIGNED', 'Unassigned']].map(([v, t]) => h('option', { value: v, selected: v === f.status }, t)));
  const server = h('select', { id: 'filter-server' }, h('option', { value: '' }, 'Any service'),
    services.map((s) => h('option', { value: s.id, selected: s.id === f.assignedServer }, s.name)),
    f.assignedServer && !names.has(f.assignedServer) ? h('option', { value: f.assignedServer, selected: true }, f.assignedServer) : null);
  const serial = h('input', { id: 'filter-serial', type: 'text', value: f.serial, maxlength: 14, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'filter-serial-hint devices-error' });
  const limit = h('select', { id: 'filter-limit' }, PAGE_SIZES.map((n) => h('option', { value: n, selected: n === f.limit }, n)));
  const filters = h('form', {
    role: 'search', 'aria-label': 'Filter devices', class: 'filters',
    onsubmit: (e) => {
      e.preventDefault();
      location.hash = hashOf({ productFamily: family.value, status: status.value, assignedServer: server.value, serial: serial.value.trim().toUpperCase(), limit: limit.value, cursor: '' });
    },
  },
  h('div', {}, ...field('filter-family', 'Product family', family)),
  h('div', {}, ...field('filter-status', 'Status', status)),
  h('div', {}, ...field('filter-server', 'Assigned service', server)),
  h('div', {}, ...field('filter-serial', 'Serial number starts with', serial, 'Digits and capital letters.')),
  h('div', {}, ...field('filter-limit', 'Devices per page', limit)),
  h('div', { class: 'actions' },
    h('button', { type: 'submit' }, 'Apply filters'),
    h('button', { type: 'button', class: 'secondary', onclick: () => { location.hash = '#/devices'; } }, 'Clear filters')));

  // The table, one checkbox per device.
  const boxes = doc.data.map((d) => h('input', { type: 'checkbox', value: d.id, 'aria-label': `Select ${d.id}` }));
  const selected = () => boxes.filter((b) => b.checked).map((b) => b.value);
  const count = h('p', { id: 'selected-count', role: 'status' }, 'No device selected.');
  const all = h('input', { type: 'checkbox', 'aria-label': 'Select all devices on this page' });
  const recount = () => {
    const n = selected().length;
    count.textContent = n ? `${plural(n, 'device')} selected.` : 'No device selected.';
    all.checked = n > 0 && n === boxes.length;
    all.indeterminate = n > 0 && n < boxes.length;
  };
  for (const b of boxes) b.addEventListener('change', recount);
  all.addEventListener('change', () => { for (const b of boxes) b.checked = all.checked; recount(); });
  const manage = ui.can('devices.manage') || ui.can('devices.release');
  const table = doc.data.length === 0
    ? h('p', { id: 'no-devices' }, f.productFamily || f.status || f.assignedServer || f.serial ? 'No device matches these filters.' : 'Your organization has no devices yet. Devices arrive from purchases (the API, POST /v1/orgDevices) or a CSV import (Import devices, or npm run cli).')
    : h('table', { 'aria-label': 'Devices' },
      h('thead', {}, h('tr', {}, manage ? h('th', { scope: 'col' }, all) : null,
        ['Serial number', 'Model', 'Product family', 'OS', 'Status', 'Assigned service', 'Migration deadline', 'Added'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, doc.data.map(({ id, attributes: a, relationships: rel }, i) => {
        const linkId = rel.assignedServer.data?.id;
        return h('tr', {},
          manage ? h('td', { 'data-label': 'Select' }, boxes[i]) : null,
          h('td', { 'data-label': 'Serial number' }, id),
          h('td', { 'data-label': 'Model' }, a.deviceModel),
          h('td', { 'data-label': 'Product family' }, a.productFamily),
          h('td', { 'data-label': 'OS' }, a.os ?? '—'),
          h('td', { 'data-label': 'Status' }, a.status === 'ASSIGNED' ? 'Assigned' : 'Unassigned'),
          h('td', { 'data-label': 'Assigned service' }, linkId ? h('a', { href: `#/services/${linkId}` }, names.get(linkId) ?? linkId) : '—'),
          h('td', { 'data-label': 'Migration deadline' }, a.mdmMigrationDeadline ? fmtDate(a.mdmMigrationDeadline) : '—'),
          h('td', { 'data-label': 'Added' }, fmtDate(a.addedToOrgDateTime)));
      })));

  // Paging: the API's cursor goes forward; the trail remembers the way back.
  const next = doc.meta?.paging?.nextCursor;
  const go = (cursor) => { location.hash = hashOf({ ...f, cursor }); };
  const paging = h('div', { class: 'actions paging' },
    trail.cursors.length || f.cursor ? h('button', { type: 'button', class: 'secondary', onclick: () => go(trail.cursors.pop() ?? '') }, 'Previous page') : null,
    next ? h('button', { type: 'button', class: 'secondary', onclick: () => { trail.cursors.push(f.cursor); go(next); } }, 'Next page') : null);

  const shown = doc.data.length;
  const summary = h('p', { class: 'hint', id: 'devices-summary' },
    shown ? `Showing ${plural(shown, 'device')}${f.cursor ? ' (a later page)' : ''}${next ? '; more on the next page' : ''}.` : '');

  ui.page('Devices',
    h('p', { class: 'crumb' }, h('a', { href: '#/activities' }, 'Device activities'), ' · ', h('a', { href: '#/devices/defaults' }, 'Default device assignment'), ' · ',
      h('a', { href: '#/devices/import' }, 'Import devices (CSV)'), ' · ', h('a', { href: '#/services' }, 'Management Services')),
    filters, err,
    manage && shown ? actionsPanel(ui, services, selected, count, err) : null,
    summary, table, paging);
}

/**
 * A migration deadline as the API takes it: the console shows and reads times in UTC (as every date
 * on its pages), so a `datetime-local` value is read as UTC, not as the browser's zone.
 */
export function deadlineFromInput(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  const at = new Date(`${value}Z`);
  return Number.isNaN(at.getTime()) ? null : at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** This minute in UTC as a `datetime-local` value: the input's `min`, so a date picker offers no past day. */
const utcMinute = () => new Date().toISOString().slice(0, 16);

/** The API's codes that are about the deadline itself (the field is then marked invalid). */
const DEADLINE_CODES = new Set(['DEADLINE_REQUIRED', 'DEADLINE_IN_PAST', 'BAD_REQUEST']);

/**
 * A migration deadline field with its own error (role=alert, tied to the field). The browser's
 * `min` only guides the picker: the form does not validate natively, because the rule "in the
 * future" is the API's, judged by the server's clock, and a refusal is shown in the API's own words.
 */
function deadlineField(id, label) {
  const input = h('input', { id, type: 'datetime-local', required: true, min: utcMinute(), 'aria-describedby': `${id}-hint ${id}-error` });
  const error = errorBox(`${id}-error`);
  const clear = () => { input.removeAttribute('aria-invalid'); error.textContent = ''; };
  const refuse = (message, aboutField = true) => {
    if (aboutField) input.setAttribute('aria-invalid', 'true');
    error.textContent = message;
    if (aboutField) input.focus();
  };
  const wrapped = h('div', {}, ...field(id, label, input, 'UTC, like every time in the console. It must be in the future.'));
  return { input, error, clear, refuse, field: wrapped };
}

/**
 * Assign / unassign / release the selected devices, and the migration activities (assign with a
 * migration deadline, update that deadline, cancel the migration): each starts one activity and opens
 * its page, where its progress and results are shown. Every kind the API accepts can be started here.
 */
function actionsPanel(ui, services, selected, count, err) {
  /**
   * Starts one activity; a refusal goes to `refuse` (the API's words), or to the panel's error.
   * Returns false when nothing was started.
   */
  // One activity per click: a second click while the first is on its way starts nothing, and the
  // request carries an Idempotency-Key so a resent one cannot make a twin either.
  let starting = false;
  const start = async (activityType, linkId, attributes = {}, refuse = (error) => { err.textContent = error.message; }) => {
    if (starting) return false;
    err.textContent = '';
    const serials = selected();
    if (serials.length === 0) { err.textContent = 'Select at least one device first.'; return false; }
    starting = true;
    try {
      const doc = await apiJson('POST', '/v1/orgDeviceActivities', {
        idempotencyKey: newIdempotencyKey(),
        json: {
          data: {
            type: 'orgDeviceActivities',
            attributes: { activityType, ...attributes },
            relationships: {
              ...(linkId ? { mdmServer: { data: { type: 'mdmServers', id: linkId } } } : {}),
              devices: { data: serials.map((id) => ({ type: 'orgDevices', id })) },
            },
          },
        },
      });
      ui.flash(`Started: ${plural(serials.length, 'device')}. This page shows the progress.`);
      location.hash = `#/activities/${doc.data.id}`;
      return true;
    } catch (error) {
      refuse(error);
      return false;
    } finally {
      starting = false;
    }
  };

  /** A deadline form's submit: an empty or unreadable field is said here; every other rule is the API's. */
  const withDeadline = (deadline, activityType, linkId) => async (e) => {
    e.preventDefault();
    deadline.clear();
    if (selected().length === 0) { err.textContent = 'Select at least one device first.'; return; }
    const at = deadlineFromInput(deadline.input.value);
    if (!at) { deadline.refuse('Choose the migration deadline: a date and a time (UTC) in the future. Nothing was started.'); return; }
    await start(activityType, linkId, { mdmMigrationDeadline: at }, (error) => {
      deadline.refuse(`${error.message} Nothing was started.`, error instanceof ApiError && DEADLINE_CODES.has(error.code ?? ''));
    });
  };

  const parts = [h('h2', { id: 'actions-heading' }, 'With the selected devices'), count];
  if (ui.can('devices.manage')) {
    const target = h('select', { id: 'assign-server' }, services.map((s) => h('option', { value: s.id }, s.name)));
    parts.push(services.length
      ? h('form', {
        class: 'inline-form',
        onsubmit: (e) => { e.preventDefault(); void start('ASSIGN_DEVICES', target.value); },
      }, h('div', {}, ...field('assign-server', 'Device management service', target)), h('button', { type: 'submit' }, 'Assign to service'))
      : h('p', { class: 'hint' }, 'Link a device management service first to assign devices to it.'));
  }
  const buttons = h('div', { class: 'actions' });
  parts.push(buttons);
  if (ui.can('devices.manage')) buttons.append(h('button', { type: 'button', class: 'secondary', onclick: () => void start('UNASSIGN_DEVICES') }, 'Unassign'));
  if (ui.can('devices.release')) {
    const box = h('div', { id: 'release-confirm', 'aria-live': 'polite' });
    buttons.append(h('button', {
      type: 'button', class: 'danger',
      onclick: () => {
        err.textContent = '';
        const serials = selected();
        if (serials.length === 0) { err.textContent = 'Select at least one device first.'; return; }
        const typed = h('input', { id: 'release-word', type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'release-word-hint release-error' });
        const refusal = errorBox('release-error');
        mount(box, h('form', {
          class: 'warning',
          onsubmit: async (e) => {
            e.preventDefault();
            refusal.textContent = '';
            if (typed.value.trim() !== RELEASE_WORD) {
              typed.setAttribute('aria-invalid', 'true');
              refusal.textContent = `Type ${RELEASE_WORD} (in capitals) to release ${plural(serials.length, 'device')}. Nothing was released.`;
              typed.focus();
              return;
            }
            await start('RELEASE_DEVICES');
          },
        },
        h('p', {}, h('strong', {}, `Release ${plural(serials.length, 'device')} from your organization?`),
          ' Released devices leave your organization: they disappear from this list and from every device management service, and come back only if they are added to your organization again.'),
        h('p', {}, `Devices: ${serials.slice(0, 10).join(', ')}${serials.length > 10 ? ` and ${serials.length - 10} more` : ''}.`),
        ...field('release-word', `Type ${RELEASE_WORD} to confirm`, typed, `This releases exactly the ${plural(serials.length, 'device')} listed above.`),
        refusal,
        h('div', { class: 'actions' },
          h('button', { type: 'submit', class: 'danger' }, 'Release devices'),
          h('button', { type: 'button', class: 'secondary', onclick: () => mount(box) }, 'Cancel'))));
        typed.focus();
      },
    }, 'Release…'));
    parts.push(box);
  }
  if (ui.can('devices.manage')) parts.push(migrationPanel(services, withDeadline, start));
  return h('section', { 'aria-labelledby': 'actions-heading', class: 'device-actions' }, parts);
}

/**
 * Apple Business's migration with a deadline: the devices go to the new service now, which sees
 * `mdm_migration_deadline`; administrators are reminded before it and told at it which devices the
 * new service has not given an enrollment profile. The deadline of a migration in progress can be
 * moved, or the migration cancelled (the devices stay where they are, without a deadline).
 */
function migrationPanel(services, withDeadline, start) {
  const parts = [h('h3', { id: 'migration-heading' }, 'Migration to a new service, with a deadline')];
  if (services.length) {
    const target = h('select', { id: 'migrate-server' }, services.map((s) => h('option', { value: s.id }, s.name)));
    const deadline = deadlineField('migration-deadline', 'Migration deadline');
    parts.push(h('form', {
      class: 'inline-form', novalidate: true, 'aria-label': 'Assign with a migration deadline',
      onsubmit: (e) => withDeadline(deadline, 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE', target.value)(e),
    },
    h('div', {}, ...field('migrate-server', 'Service to migrate to', target)),
    deadline.field,
    h('button', { type: 'submit' }, 'Assign with migration deadline'),
    deadline.error));
  } else parts.push(h('p', { class: 'hint' }, 'Link a device management service first to migrate devices to it.'));

  const moved = deadlineField('new-migration-deadline', 'New migration deadline');
  parts.push(h('form', {
    class: 'inline-form', novalidate: true, 'aria-label': 'Update the migration deadline',
    onsubmit: (e) => withDeadline(moved, 'UPDATE_MDM_MIGRATION_DEADLINE', null)(e),
  }, moved.field, h('button', { type: 'submit', class: 'secondary' }, 'Update migration deadline'), moved.error));
  parts.push(h('p', { class: 'hint' }, 'Updating or cancelling acts on the selected devices that are under a migration deadline; any other device is reported as failed (no migration in progress) in the activity\'s results.'));
  parts.push(h('div', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: () => void start('CANCEL_MDM_MIGRATION') }, 'Cancel migration')));
  return h('section', { 'aria-labelledby': 'migration-heading', class: 'migration' }, parts);
}

/** `#/devices/defaults`: Apple Business's Default device assignment, one service per product family. */
export async function defaultAssignmentsView(ui) {
  const [doc, services] = await Promise.all([apiJson('GET', '/v1/defaultDeviceAssignments'), loadServices()]);
  const names = new Map(services.map((s) => [s.id, s.name]));
  const err = errorBox('defaults-error');
  const said = h('p', { role: 'status', id: 'defaults-status' });
  const rows = doc.data.map(({ id: family, relationships: rel }) => {
    const current = rel.mdmServer.data?.id ?? '';
    let cell;
    if (ui.can('devices.manage')) {
      const select = h('select', { 'aria-label': `Default service for ${family}` },
        h('option', { value: '' }, 'None (new devices stay unassigned)'),
        services.map((s) => h('option', { value: s.id, selected: s.id === current }, s.name)));
      let saved = current;
      select.addEventListener('change', async () => {
        err.textContent = '';
        said.textContent = '';
        try {
          await apiJson('PUT', `/v1/defaultDeviceAssignments/${family}`, {
            json: { data: { type: 'defaultDeviceAssignments', relationships: { mdmServer: { data: select.value ? { type: 'mdmServers', id: select.value } : null } } } },
          });
          saved = select.value;
          said.textContent = select.value ? `New ${family} devices now go to ${names.get(select.value)}.` : `New ${family} devices now stay unassigned.`;
        } catch (error) {
          select.value = saved;
          err.textContent = error.message;
        }
      });
      cell = select;
    } else cell = current ? names.get(current) ?? current : 'None (new devices stay unassigned)';
    return h('tr', {}, h('th', { scope: 'row' }, family), h('td', { 'data-label': 'Default service' }, cell));
  });
  ui.page('Default device assignment',
    h('p', { class: 'crumb' }, h('a', { href: '#/devices' }, 'Devices'), ' › Default device assignment'),
    h('p', { class: 'hint' }, 'A device added to your organization goes to the service of its product family on arrival. Devices already in your organization stay where they are.'),
    err, said,
    h('table', { 'aria-label': 'Default device assignment' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Product family'), h('th', { scope: 'col' }, 'Default service'))),
      h('tbody', {}, rows)));
}

/** A service page's devices: how many, and a link to the Devices page filtered to them. */
export async function serviceDevicesFact(linkId) {
  try {
    const doc = await apiJson('GET', `/v1/mdmServers/${linkId}/relationships/devices?limit=1`);
    const total = doc.meta?.paging?.total ?? 0;
    return h('a', { href: hashOf({ assignedServer: linkId }), id: 'service-devices' }, plural(total, 'device'));
  } catch (error) {
    return h('span', { class: 'error' }, error.message);
  }
}
