// Device imports: a CSV file uploaded to POST /v1/orgDeviceImports is added in the background in
// batches of 1,000; its page shows the API's progress (processedCount of rowCount), asked again every
// second until the import ends, then what was added and which lines were rejected and why.
import { ApiError, api, apiJson } from './api.js';
import { refresher } from './activities.js';
import { errorBox, field, fmtDate, h, mount } from './dom.js';
import { progressBar, setProgress } from './progress.js';

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The import's state in words (with a symbol), never by colour alone. */
export function importBadge(a) {
  if (a.status === 'COMPLETED' && a.rejectedCount > 0) return h('span', { class: 'badge warn' }, `⚠ Completed, ${plural(a.rejectedCount, 'row')} rejected`);
  if (a.status === 'COMPLETED') return h('span', { class: 'badge ok' }, '✓ Completed');
  if (a.status === 'FAILED') return h('span', { class: 'badge bad' }, '✕ Failed');
  return h('span', { class: 'badge' }, a.status === 'PENDING' ? '… Waiting to start' : '… Importing');
}

const running = (a) => a.status === 'PENDING' || a.status === 'RUNNING';

/** The API's refusal of a file: every broken rule it lists, each with its line. */
function refusalList(error) {
  const listed = error.errors?.length ? error.errors : [{ detail: error.message }];
  return [
    h('p', {}, error.status === 413 || error.status === 415 ? 'The file was not accepted:' : 'The file was not imported; fix these lines and upload it again:'),
    h('ul', { id: 'import-problems' }, listed.map((e) => h('li', {}, e.detail || e.title))),
  ];
}

/** `#/devices/import`: upload a CSV (devices.manage) and the organization's recent imports. */
export async function importView(ui) {
  const doc = await apiJson('GET', '/v1/orgDeviceImports?limit=10');
  const err = h('div', { class: 'error', id: 'import-error', role: 'alert', 'aria-live': 'assertive' });
  const file = h('input', { id: 'import-file', type: 'file', accept: '.csv,text/csv', required: true, 'aria-describedby': 'import-file-hint import-error' });
  const submit = h('button', { type: 'submit' }, 'Import devices');
  const form = ui.can('devices.manage') ? h('form', {
    'aria-label': 'Upload',
    onsubmit: async (e) => {
      e.preventDefault();
      mount(err);
      const chosen = file.files?.[0];
      if (!chosen) { err.textContent = 'Choose a CSV file first.'; return; }
      submit.disabled = true;
      try {
        const created = await (await api('POST', '/v1/orgDeviceImports', { body: chosen, contentType: 'text/csv' })).json();
        location.hash = `#/devices/imports/${created.data.id}`;
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        mount(err, refusalList(error));
      } finally {
        submit.disabled = false;
      }
    },
  },
  ...field('import-file', 'CSV file', file,
    'UTF-8, first line the column names: serialNumber, deviceModel, productFamily (required); os, color, deviceCapacity, orderNumber, purchaseSourceType, description, assetTag (optional). Up to 50,000 devices (5 MB).'),
  err,
  h('div', { class: 'actions' }, submit)) : h('p', { class: 'hint' }, 'Importing devices needs the permission devices.manage.');

  const list = doc.data.length === 0
    ? h('p', {}, 'No imports yet.')
    : h('table', { 'aria-label': 'Recent imports' },
      h('thead', {}, h('tr', {}, ['Started', 'Rows', 'Progress', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, doc.data.map(({ id, attributes: a }) => h('tr', {},
        h('td', { 'data-label': 'Started' }, h('a', { href: `#/devices/imports/${id}`, 'aria-label': `Import started ${fmtDate(a.createdDateTime)}` }, fmtDate(a.createdDateTime))),
        h('td', { 'data-label': 'Rows' }, String(a.rowCount)),
        h('td', { 'data-label': 'Progress' }, progressBar(`import-progress-${id}`, `Progress of the import started ${fmtDate(a.createdDateTime)}`, a.processedCount, a.rowCount, 'row')),
        h('td', { 'data-label': 'Status' }, importBadge(a))))));

  ui.page('Import devices',
    h('p', { class: 'crumb' }, h('a', { href: '#/devices' }, 'Devices'), ' › Import devices'),
    h('p', { class: 'hint' }, 'The whole file is checked first: a line that breaks a rule is named and nothing is imported. The devices are then added in batches of 1,000; a device whose serial number already belongs to an organization is rejected on its own and the others are added.'),
    form,
    h('h2', {}, 'Recent imports'), list);
}

/** `#/devices/imports/{id}`: one import, its progress refreshed while it runs, then its result. */
export async function importResultView(ui, id) {
  const path = `/v1/orgDeviceImports/${id}`;
  let a = (await apiJson('GET', path)).data.attributes;
  const bar = progressBar('import-progress', 'Rows processed', a.processedCount, a.rowCount, 'row');
  const status = h('dd', { id: 'import-status' });
  const added = h('dd', { id: 'import-added' });
  const rejected = h('dd', { id: 'import-rejected' });
  const completed = h('dd', { id: 'import-completed' });
  const said = h('p', { role: 'status', id: 'import-announcement' });
  const err = errorBox('import-refresh-error');
  const result = h('section', { 'aria-labelledby': 'import-result-heading', id: 'import-result' });
  const draw = () => {
    mount(status, importBadge(a));
    added.textContent = String(a.addedCount);
    rejected.textContent = String(a.rejectedCount);
    completed.textContent = a.completedDateTime ? fmtDate(a.completedDateTime) : 'Not yet';
    setProgress(bar, a.processedCount, a.rowCount, 'row');
  };
  const finish = () => {
    const rows = a.rejectedRows ?? [];
    mount(result,
      h('h2', { id: 'import-result-heading' }, 'Result'),
      h('p', { id: 'import-summary' }, a.status === 'FAILED'
        ? `The import stopped after ${plural(a.processedCount, 'row')} (${plural(a.addedCount, 'device')} added): ${a.failureReason ?? 'unknown reason'}.`
        : `${plural(a.addedCount, 'device')} added, ${plural(a.rejectedCount, 'row')} rejected, of ${plural(a.rowCount, 'row')}.`),
      rows.length ? h('table', { 'aria-label': 'Rejected rows' },
        h('thead', {}, h('tr', {}, ['Line', 'Serial number', 'Rule', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rows.map((r) => h('tr', {},
          h('td', { 'data-label': 'Line' }, String(r.line)),
          h('td', { 'data-label': 'Serial number' }, r.serialNumber),
          h('td', { 'data-label': 'Rule' }, r.code),
          h('td', { 'data-label': 'Detail' }, r.detail))))) : null,
      a.rejectedCount > rows.length ? h('p', { class: 'hint' }, `The first ${rows.length} of ${a.rejectedCount} rejected rows.`) : null,
      a.addedCount ? h('p', {}, h('a', { href: '#/devices' }, 'See the devices')) : null);
  };
  draw();
  ui.page('Device import',
    h('p', { class: 'crumb' }, h('a', { href: '#/devices' }, 'Devices'), ' › ', h('a', { href: '#/devices/import' }, 'Import devices'), ' › ', fmtDate(a.createdDateTime)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), status,
      h('dt', {}, 'Rows'), h('dd', {}, String(a.rowCount)),
      h('dt', {}, 'Added'), added,
      h('dt', {}, 'Rejected'), rejected,
      h('dt', {}, 'Started'), h('dd', {}, fmtDate(a.createdDateTime)),
      h('dt', {}, 'Completed'), completed),
    h('h2', {}, 'Progress'), bar, said, err, result);
  if (!running(a)) return finish();
  refresher(location.hash, async () => {
    try {
      a = (await apiJson('GET', path)).data.attributes;
      err.textContent = '';
    } catch (error) {
      err.textContent = `Could not refresh the progress: ${error.message}`;
      return true;
    }
    draw();
    if (running(a)) return true;
    said.textContent = `Import ${importBadge(a).textContent.replace(/^\W+/, '')}.`;
    finish();
    return false;
  });
}
