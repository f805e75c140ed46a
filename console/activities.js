// Device activities (Apple Business: Activity): every assignment, unassignment, release and
// migration (with a deadline, its update, its cancellation) is one activity, carried out by a workflow in pages. The pages show its progress from the API
// (processedCount of deviceCount), refreshed while it runs, and its per-device results (the CSV).
import { api, apiJson, downloadFile } from './api.js';
import { errorBox, fmtDate, h, mount } from './dom.js';
import { loadServices } from './devices.js';
import { progressBar, setProgress } from './progress.js';

const TYPE_TEXT = {
  ASSIGN_DEVICES: 'Assign devices',
  UNASSIGN_DEVICES: 'Unassign devices',
  RELEASE_DEVICES: 'Release devices',
  ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE: 'Assign devices with a migration deadline',
  UPDATE_MDM_MIGRATION_DEADLINE: 'Update the migration deadline',
  CANCEL_MDM_MIGRATION: 'Cancel the migration',
};

const RESULT_TEXT = { SUCCESS: '✓ Succeeded', NOT_FOUND: '✕ Not found in your organization', FAILED: '✕ Failed', PENDING: '… Not yet processed' };

/** How often a running activity is asked again: progress moves a page (500 devices) at a time. */
const REFRESH_MS = 1000;
/** Results shown on the page; the CSV download has them all. */
const RESULT_ROWS = 100;

export const typeText = (type) => TYPE_TEXT[type] ?? type;

/** The activity's state in words (with a symbol), never by colour alone. */
export function statusBadge(a) {
  if (a.status === 'COMPLETED' && a.subStatus === 'COMPLETED_WITH_FAILURES') return h('span', { class: 'badge warn' }, `⚠ Completed with ${a.failedCount} failure${a.failedCount === 1 ? '' : 's'}`);
  if (a.status === 'COMPLETED') return h('span', { class: 'badge ok' }, '✓ Completed');
  if (a.status === 'FAILED') return h('span', { class: 'badge bad' }, '✕ Failed');
  // An operator stopped (terminated or cancelled) its workflow; the devices it had not reached failed.
  if (a.status === 'STOPPED') return h('span', { class: 'badge bad' }, '■ Stopped');
  return h('span', { class: 'badge' }, a.subStatus === 'SUBMITTED' ? '… Waiting to start' : '… In progress');
}

/**
 * One refresh loop per page: a newer page (or leaving this one) ends the older loop, so a
 * re-rendered page never leaves two loops asking the API.
 */
let generation = 0;
export function refresher(hash, step) {
  const mine = ++generation;
  const alive = () => mine === generation && location.hash === hash;
  void (async () => {
    while (alive()) {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
      if (!alive() || !(await step())) return;
    }
  })();
}

const serverCell = (a, rel, names) => {
  const id = rel?.mdmServer?.data?.id;
  if (!id) return a.activityType === 'RELEASE_DEVICES' ? 'Leave the organization' : '—';
  return h('a', { href: `#/services/${id}` }, names.get(id) ?? id);
};

/** `#/activities[?cursor=…]`: the organization's activities, newest first, with their progress. */
export async function activitiesView(ui, query) {
  const cursor = new URLSearchParams(query).get('cursor');
  const path = `/v1/orgDeviceActivities?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
  const [doc, names] = await Promise.all([apiJson('GET', path), loadServices().then((s) => new Map(s.map((x) => [x.id, x.name])))]);
  const err = errorBox('activities-error');
  const table = h('div', {});
  const draw = (d) => mount(table, d.data.length === 0
    ? h('p', {}, 'No device activities yet. Assign, unassign, release or migrate devices on the Devices page.')
    : h('table', { 'aria-label': 'Device activities' },
      h('thead', {}, h('tr', {}, ['Started', 'Activity', 'Service', 'Progress', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, d.data.map(({ id, attributes: a, relationships: rel }) => h('tr', {},
        h('td', { 'data-label': 'Started' }, h('a', { href: `#/activities/${id}`, 'aria-label': `${typeText(a.activityType)}, started ${fmtDate(a.createdDateTime)}` }, fmtDate(a.createdDateTime))),
        h('td', { 'data-label': 'Activity' }, typeText(a.activityType)),
        h('td', { 'data-label': 'Service' }, serverCell(a, rel, names)),
        h('td', { 'data-label': 'Progress' }, progressBar(`progress-${id}`, `Progress of ${typeText(a.activityType)} started ${fmtDate(a.createdDateTime)}`, a.processedCount, a.deviceCount)),
        h('td', { 'data-label': 'Status' }, statusBadge(a)))))));
  draw(doc);
  ui.page('Device activities',
    h('p', { class: 'crumb' }, h('a', { href: '#/devices' }, 'Devices'), ' › Device activities'),
    h('p', { class: 'hint' }, 'Each assignment, unassignment, release or migration (with a deadline, its update, its cancellation) runs as one activity; the list refreshes while any is in progress.'),
    err, table,
    h('p', { class: 'paging' },
      cursor ? h('a', { href: '#/activities' }, 'Newest activities') : null,
      doc.meta?.paging?.nextCursor ? h('a', { href: `#/activities?cursor=${encodeURIComponent(doc.meta.paging.nextCursor)}` }, 'Older activities') : null));
  const running = (d) => d.data.some(({ attributes: a }) => a.status === 'IN_PROGRESS');
  if (running(doc)) {
    refresher(location.hash, async () => {
      try {
        const fresh = await apiJson('GET', path);
        err.textContent = '';
        draw(fresh);
        return running(fresh);
      } catch (error) {
        err.textContent = `Could not refresh the list: ${error.message}`;
        return true;
      }
    });
  }
}

/** RFC 4180 lines as the API writes them (fields quoted when they hold a comma, quote or line break). */
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field.replace(/\r$/, '')); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

async function resultsSection(a) {
  try {
    const rows = parseCsv(await (await api('GET', a.downloadUrl)).text()).slice(1);
    const shown = rows.slice(0, RESULT_ROWS);
    return [
      h('table', { 'aria-label': 'Per-device results' },
        h('thead', {}, h('tr', {}, ['Serial number', 'Result', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, shown.map(([serial, result, detail]) => h('tr', {},
          h('td', { 'data-label': 'Serial number' }, serial),
          h('td', { 'data-label': 'Result' }, RESULT_TEXT[result] ?? result),
          h('td', { 'data-label': 'Detail' }, detail || '—'))))),
      rows.length > shown.length ? h('p', { class: 'hint' }, `The first ${RESULT_ROWS} of ${rows.length} devices; the CSV has them all.`) : null,
    ];
  } catch (error) {
    return h('p', { class: 'error' }, `Could not read the results: ${error.message}`);
  }
}

/**
 * What the deadline found (the activity's deadlineReport): the devices the new service had not given
 * an enrollment profile. A later update or cancel moves devices off this activity's deadline.
 */
function deadlineReportText(report) {
  if (!report) return 'Not reached yet: administrators are reminded before it, and told then which devices the new service has not given an enrollment profile.';
  const n = report.devicesWithoutProfile ?? 0;
  if (n === 0) return `Reached ${fmtDate(report.reportedDateTime)}: every device had an enrollment profile from the new service.`;
  const listed = report.serialNumbers ?? [];
  return `Reached ${fmtDate(report.reportedDateTime)}: ${n} device${n === 1 ? '' : 's'} without an enrollment profile from the new service` +
    (listed.length ? ` (${listed.slice(0, 20).join(', ')}${n > Math.min(listed.length, 20) ? ', …' : ''}).` : '.');
}

/** `#/activities/{id}`: one activity, its progress refreshed while it runs, then its per-device results. */
export async function activityView(ui, id) {
  const path = `/v1/orgDeviceActivities/${id}`;
  const [doc, services] = await Promise.all([apiJson('GET', path), loadServices()]);
  const names = new Map(services.map((s) => [s.id, s.name]));
  let a = doc.data.attributes;
  const bar = progressBar('activity-progress', 'Devices processed', a.processedCount, a.deviceCount);
  const status = h('dd', { id: 'activity-status' });
  const completed = h('dd', { id: 'activity-completed' });
  const failed = h('dd', { id: 'activity-failed' });
  const said = h('p', { role: 'status', id: 'activity-announcement' });
  const err = errorBox('activity-error');
  const results = h('section', { 'aria-labelledby': 'results-heading', id: 'activity-results' });
  const draw = () => {
    mount(status, statusBadge(a));
    completed.textContent = a.completedDateTime ? fmtDate(a.completedDateTime) : 'Not yet';
    failed.textContent = String(a.failedCount);
    setProgress(bar, a.processedCount, a.deviceCount);
  };
  const finish = async () => {
    mount(results, h('h2', { id: 'results-heading' }, 'Per-device results'),
      h('div', { class: 'actions' }, h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          err.textContent = '';
          try { said.textContent = `Downloaded ${await downloadFile('GET', a.downloadUrl, `orgDeviceActivity-${id}.csv`)}.`; } catch (error) { err.textContent = error.message; }
        },
      }, 'Download results (CSV)')),
      await resultsSection(a));
  };
  draw();
  ui.page(typeText(a.activityType),
    h('p', { class: 'crumb' }, h('a', { href: '#/devices' }, 'Devices'), ' › ', h('a', { href: '#/activities' }, 'Device activities'), ' › ', typeText(a.activityType)),
    h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), status,
      h('dt', {}, 'Service'), h('dd', {}, serverCell(a, doc.data.relationships, names)),
      h('dt', {}, 'Devices'), h('dd', {}, String(a.deviceCount)),
      h('dt', {}, 'Failed'), failed,
      h('dt', {}, 'Started'), h('dd', {}, fmtDate(a.createdDateTime)),
      h('dt', {}, 'Completed'), completed,
      a.mdmMigrationDeadline ? [h('dt', {}, 'Migration deadline'), h('dd', { id: 'activity-deadline' }, fmtDate(a.mdmMigrationDeadline))] : null,
      a.activityType === 'ASSIGN_DEVICES_WITH_MDM_MIGRATION_DEADLINE' ? [h('dt', {}, 'At the deadline'), h('dd', { id: 'activity-deadline-report' }, deadlineReportText(a.deadlineReport))] : null),
    h('h2', {}, 'Progress'), bar, said, err, results);
  if (a.status !== 'IN_PROGRESS') return finish();
  refresher(location.hash, async () => {
    try {
      a = (await apiJson('GET', path)).data.attributes;
      err.textContent = '';
    } catch (error) {
      err.textContent = `Could not refresh the progress: ${error.message}`;
      return true;
    }
    draw();
    if (a.status === 'IN_PROGRESS') return true;
    said.textContent = `${typeText(a.activityType)}: ${statusBadge(a).textContent.replace(/^\W+/, '')}.`;
    await finish();
    return false;
  });
}
