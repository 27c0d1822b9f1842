// Pages: progress by region, the enrolment table, one record, laptops (admin).
'use strict';

function countTable(title, counts, keyTitle) {
  const entries = Object.entries(counts || {}).sort((a, b) => b[1] - a[1]);
  const max = entries.reduce((m, e) => Math.max(m, e[1]), 1);
  return el('div', { class: 'panel' }, el('h2', {}, title),
    entries.length === 0 ? el('p', { class: 'muted' }, t('none')) :
      el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', {}, keyTitle), el('th', { class: 'num' }, t('total')), el('th', {}, ''))),
        el('tbody', {}, entries.map(([k, n]) => el('tr', {},
          el('td', {}, statusWord(k)), el('td', { class: 'num' }, n),
          el('td', { style: 'width:40%' }, el('div', { class: 'bar', style: 'width:' + Math.round(100 * n / max) + '%' }))))))));
}

L.pages.progress = async (view, args) => {
  const scope = (args[0] || '').replace(/\D/g, '');
  const p = await api('GET', '/v1/web/progress?scope=' + encodeURIComponent(scope));
  const here = p.scope;
  const statuses = Object.keys(p.by_status).sort();
  for (const c of p.children) for (const s of Object.keys(c.by_status)) if (!statuses.includes(s)) statuses.push(s);
  // Breadcrumbs: Indonesia > provinsi > kabupaten > kecamatan > desa, each a link up.
  const crumbs = el('nav', { class: 'crumbs', 'aria-label': 'wilayah' },
    el('a', { href: '#/progress' }, t('indonesia')));
  for (const len of [2, 4, 6, 10]) {
    if (here.length >= len) {
      const code = here.slice(0, len);
      crumbs.append(el('a', { href: '#/progress/' + code }, (regionName(code) || dotted(code))));
    }
  }
  const level = levelOf(p.level_len);
  // Targets (docs/DASHBOARD.md "Targets"): columns only where one is set.
  const withTargets = p.target != null || p.children.some((c) => c.target != null);
  const targetCells = (x) => withTargets ? [el('td', { class: 'num' }, x.target != null ? x.target : '—'),
    el('td', { class: 'num' }, x.percent != null ? x.percent + '%' : '—')] : [];
  const rows = p.children.map((c) => el('tr', { 'data-code': c.code },
    el('td', {}, dotted(c.code)),
    el('td', {}, p.level_len < 10 || c.code.length < 10 ?
      el('a', { href: '#/progress/' + c.code }, regionName(c.code) || dotted(c.code)) :
      el('a', { href: '#/enrolments?scope=' + c.code }, regionName(c.code) || dotted(c.code))),
    el('td', { class: 'num' }, c.total),
    targetCells(c),
    statuses.map((s) => el('td', { class: 'num' }, c.by_status[s] || 0))));
  const codeIn = el('input', { id: 'target-scope', type: 'text', value: dotted(here), required: true });
  const nIn = el('input', { id: 'target-n', type: 'number', min: 0, step: 1 });
  const targetForm = el('form', { class: 'filters', id: 'target-form', onsubmit: async (ev) => {
    ev.preventDefault();
    await api('POST', '/v1/targets', { scope: codeIn.value.trim(), n: nIn.value === '' ? null : Number(nIn.value) });
    say(t('saved'));
    route();
  } }, el('div', {}, el('label', { for: 'target-scope' }, t('region')), codeIn),
  el('div', {}, el('label', { for: 'target-n' }, t('target_count')), nIn),
  el('button', { type: 'submit', id: 'target-save' }, t('set_target')),
  el('p', { class: 'muted' }, t('target_help')));
  // The targets set in this region, who set each and when (read when the panel opens: the
  // list may hold every desa below). Earlier versions are in the audit log (set_target).
  const setList = el('div', { id: 'targets-set' });
  const loadTargets = async (ev) => {
    if (!ev.target.open || setList.childNodes.length) return;
    const list = (await api('GET', '/v1/targets?scope=' + encodeURIComponent(here))).targets;
    const shown = list.slice().sort((a, b) => b.set_ms - a.set_ms).slice(0, 200);
    setList.replaceChildren(list.length === 0 ? el('p', { class: 'muted' }, t('none')) :
      el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, [t('region'), t('name'), t('target_n'), t('set_by'), t('when')].map((h) => el('th', {}, h)))),
        el('tbody', {}, shown.map((x) => el('tr', {}, el('td', {}, dotted(x.scope)), el('td', {}, regionName(x.scope)),
          el('td', { class: 'num' }, x.n), el('td', {}, x.set_by), el('td', {}, fmtTime(x.set_ms))))))),
    list.length > shown.length ? el('p', { class: 'muted' }, shown.length + ' / ' + list.length) : '');
  };
  view.replaceChildren(
    el('h1', {}, t('nav_progress') + ': ' + (here ? (regionName(here) || dotted(here)) : t('indonesia'))),
    crumbs,
    el('div', { class: 'cards' },
      el('div', { class: 'card' }, el('div', { class: 'muted' }, t('total')), el('div', { class: 'n', id: 'progress-total' }, p.total)),
      p.target != null ? el('div', { class: 'card' }, el('div', { class: 'muted' }, t('target_n')),
        el('div', { class: 'n', id: 'progress-target' }, p.target + ' (' + p.percent + '%)')) : '',
      statuses.map((s) => el('div', { class: 'card' }, el('div', { class: 'muted' }, statusWord(s)), el('div', { class: 'n' }, p.by_status[s] || 0)))),
    el('h2', {}, t(level)),
    p.children.length === 0 ? el('p', { class: 'muted' }, t('no_data')) :
      el('div', { class: 'scroll' }, el('table', { id: 'progress-table' },
        el('thead', {}, el('tr', {}, el('th', {}, t('code')), el('th', {}, t('name')),
          el('th', { class: 'num' }, t('total')),
          withTargets ? [el('th', { class: 'num' }, t('target_n')), el('th', { class: 'num' }, t('percent'))] : [],
          statuses.map((s) => el('th', { class: 'num' }, statusWord(s))))),
        el('tbody', {}, rows))),
    el('p', {}, el('a', { href: '#/enrolments?scope=' + here }, t('show_enrolments'))),
    el('details', { class: 'panel', ontoggle: loadTargets }, el('summary', {}, t('set_target')), targetForm,
      el('h3', {}, t('targets_set')), setList),
    el('div', { class: 'grid2' },
      countTable(t('by_program'), p.by_program, t('program')),
      countTable(t('by_segment'), p.by_segment, t('segment')),
      countTable(t('by_officer'), p.by_officer, t('officer')),
      countTable(t('by_day'), p.by_day, t('day'))),
    olderSchema(p));
};

// Laptops in this region that still write under an older schema version (issue 18).
function olderSchema(p) {
  const older = Object.entries(p.older_schema_devices || {});
  return el('div', { class: 'panel', id: 'older-schema' },
    el('h2', {}, t('older_schema') + ' ' + p.schema_version),
    older.length === 0 ? el('p', { class: 'muted' }, t('none')) :
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, t('laptop')), el('th', { class: 'num' }, t('schema_version')))),
        el('tbody', {}, older.map(([d, v]) => el('tr', {}, el('td', {}, d), el('td', { class: 'num' }, v))))));
}

const DEFAULT_COLS = ['nik', 'full_name', 'village_code', 'programs', 'status', 'officer_id', 'created_at'];

L.pages.enrolments = async (view, args, params) => {
  const field = (n) => L.fields.find((f) => f.name === n) || { values: [] };
  const cols = (params.get('cols') || localStorage.getItem('lumbung_cols') || DEFAULT_COLS.join(','))
    .split(',').filter((c) => L.fields.some((f) => f.name === c));
  const select = (name, values) => el('select', { name, id: 'f-' + name },
    el('option', { value: '' }, t('all')),
    values.map((v) => el('option', { value: v, selected: params.get(name) === v }, statusWord(v))));
  const input = (name, type, label) => el('div', {}, el('label', { for: 'f-' + name }, label),
    el('input', { id: 'f-' + name, name, type, value: params.get(name) || '' }));
  const form = el('form', { class: 'filters', role: 'search' },
    input('q', 'search', t('search_label')),
    input('scope', 'text', t('region')),
    el('div', {}, el('label', { for: 'f-status' }, t('status')), select('status', field('status').values || [])),
    el('div', {}, el('label', { for: 'f-program' }, t('program')), select('program', field('programs').values || [])),
    el('div', {}, el('label', { for: 'f-segment' }, t('segment')), select('segment', field('segment').values || [])),
    input('officer', 'text', t('officer')),
    input('from', 'date', t('from')),
    input('to', 'date', t('to')),
    el('button', { type: 'submit', id: 'search-button' }, t('search')));
  const filterParams = () => {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, k === 'scope' ? v.replace(/\D/g, '') : v);
    return q;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    location.hash = '#/enrolments?' + filterParams().toString();
  });
  const colBox = el('fieldset', { class: 'colchoice' }, el('legend', {}, t('columns')),
    L.fields.map((f) => el('label', {}, el('input', {
      type: 'checkbox', value: f.name, checked: cols.includes(f.name),
      onchange: () => {
        const chosen = [...colBox.querySelectorAll('input:checked')].map((i) => i.value);
        localStorage.setItem('lumbung_cols', chosen.join(','));
        route();
      },
    }), ' ' + f.label)));
  const q = filterParams();
  const after = params.get('after') || '';
  if (after) q.set('after', after);
  q.set('limit', '50');
  const res = await api('GET', '/v1/web/enrolments?' + q.toString());
  const csv = filterParams();
  csv.set('cols', cols.join(','));
  const table = el('table', { id: 'enrolments-table' },
    el('thead', {}, el('tr', {}, cols.map((c) => el('th', {}, fieldLabel(c))))),
    el('tbody', {}, res.records.map((r) => el('tr', {}, cols.map((c, i) => el('td', {},
      i === 0 ? el('a', { href: '#/record/' + encodeURIComponent(r.id) }, showValue(r.fields[c]) || r.id) :
        c === 'village_code' ? dotted(r.fields[c]) + ' ' + regionName(r.fields[c]) :
          c === 'status' ? statusWord(r.fields[c]) : showValue(r.fields[c])))))));
  const back = params.get('back') ? params.get('back').split(',') : [];
  const nav = el('div', { class: 'row' });
  if (after) {
    const prevQ = filterParams();
    const prevAfter = back.slice(0, -1);
    if (back.length) prevQ.set('after', back[back.length - 1]);
    if (prevAfter.length) prevQ.set('back', prevAfter.join(','));
    nav.append(el('a', { href: '#/enrolments?' + prevQ.toString() }, '‹ ' + t('prev')));
  }
  if (res.next) {
    const nextQ = filterParams();
    nextQ.set('after', res.next);
    nextQ.set('back', [...back, after].join(','));
    nav.append(el('a', { href: '#/enrolments?' + nextQ.toString(), id: 'next-page' }, t('next') + ' ›'));
  }
  nav.append(el('a', { href: '/v1/web/enrolments.csv?' + csv.toString(), download: '', id: 'export-csv' }, t('export_csv')));
  view.replaceChildren(el('h1', {}, t('nav_enrolments')), form, colBox,
    el('p', { class: 'muted' }, res.records.length + ' · ' + res.scanned + ' ' + t('scanned')),
    res.records.length ? el('div', { class: 'scroll' }, table) : el('p', {}, t('none')), nav);
};

// An attachment field's value (PROTOCOL.md "Attachments"): a photo is shown, loaded with the
// session cookie only when this page is opened; another file type is a link.
function attachmentView(a, id, collection) {
  const src = '/v1/attachments/' + encodeURIComponent(a.sha256) + '/content?collection=' +
    encodeURIComponent(collection) + '&record=' + encodeURIComponent(id);
  const label = (a.name || a.sha256.slice(0, 12)) + ' · ' + Math.max(1, Math.round(a.size / 1024)) + ' KB';
  if (typeof a.mime === 'string' && a.mime.startsWith('image/')) {
    return el('a', { href: src, target: '_blank', rel: 'noopener' },
      el('img', { src, alt: label, class: 'attachment' }), el('br', {}), label);
  }
  return el('a', { href: src, target: '_blank', rel: 'noopener' }, label);
}

// A record's changes in log order (GET /v1/records/{id}/history): who (laptop and officer,
// or the office), when, each field old -> new; a write that lost the merge says so. 500
// changes a page: links to the older page ("older" -> ?before=) and back to the newest.
function historyTable(h, id) {
  // A creation lists its values; a change old → new.
  const change = (c, created) => el('div', {}, fieldLabel(c.field) + ': ', created ? '' : [
    el('span', { class: 'value' }, c.old_known === false ? t('unknown_old') : showValue(c.old)), ' → '],
  el('span', { class: 'value' }, showValue(c.new)));
  const rows = h.changes.map((c) => {
    let kind = t('kind_' + c.kind);
    if (c.kind === 'update' && !c.live_before && c.live_after) kind += ' (' + t('revived') + ')';
    const what = c.fields.map((f) => change(f, c.kind === 'create'));
    if (c.kind === 'delete' && c.changed && c.live_before && !c.live_after) what.push(el('div', {}, t('kind_delete')));
    if (!c.changed || (c.fields.length === 0 && c.kind !== 'delete')) {
      what.push(el('div', { class: 'muted' }, t('no_change') + (c.unchanged.length ? ': ' : ''),
        c.unchanged.map((u, i) => [i ? ', ' : '', fieldLabel(u.field) + ' ', el('span', { class: 'value' }, showValue(u.value))])));
    }
    const who = c.device === 'server' ? t('office') + (c.by && c.by.label ? ' · ' + c.by.label : '') :
      c.device + (c.label && c.label !== c.device ? ' · ' + c.label : '');
    return el('tr', { class: c.changed ? '' : 'muted' }, el('td', {}, fmtTime(c.at_ms)), el('td', {}, who),
      el('td', {}, kind), el('td', {}, what));
  });
  const base = '#/record/' + encodeURIComponent(id);
  const pager = el('p', { class: 'row', id: 'history-pager' },
    h.before ? el('a', { href: base, id: 'history-newest' }, t('history_newest')) : '',
    h.older ? el('a', { href: base + '?before=' + encodeURIComponent(String(h.older)), id: 'history-older' },
      t('history_older')) : '');
  return el('div', {},
    h.before ? el('p', { class: 'muted' }, t('history_page') + ' ' + h.before) : '',
    h.cut ? el('p', { class: 'muted' }, t('history_cut')) : '',
    rows.length === 0 ? el('p', { class: 'muted' }, t('none')) :
      el('div', { class: 'scroll' }, el('table', { id: 'history-table' },
        el('thead', {}, el('tr', {}, [t('when'), t('device'), t('action'), t('changes')].map((x) => el('th', {}, x)))),
        el('tbody', {}, rows.reverse()))), pager);
}

L.pages.record = async (view, args, params) => {
  const id = args[0];
  // A page of older changes (digits only; anything else reads the newest).
  const before = /^[0-9]{1,19}$/.test(params.get('before') || '') ? params.get('before') : '';
  const [r, hist] = await Promise.all([
    api('GET', '/v1/web/records/' + encodeURIComponent(id)),
    api('GET', '/v1/records/' + encodeURIComponent(id) + '/history' + (before ? '?before=' + before : ''))]);
  const names = Object.keys(r.fields);
  for (const f of L.fields) if (!names.includes(f.name)) names.push(f.name);
  const rows = L.fields.map((f) => f.name).concat(Object.keys(r.fields).filter((n) => !L.fields.some((f) => f.name === n)))
    .map((n) => {
      const lw = r.last_write[n];
      let v = showValue(r.fields[n]);
      if (n === 'village_code' && r.fields[n]) v = dotted(r.fields[n]) + ' ' + regionName(r.fields[n]);
      const a = r.fields[n];
      if (a && typeof a === 'object' && !Array.isArray(a) && typeof a.sha256 === 'string') {
        v = attachmentView(a, r.id, r.collection || 'enrolment');
      }
      return el('tr', {}, el('th', {}, fieldLabel(n)), el('td', { class: 'value' }, v),
        el('td', { class: 'muted' }, lw ? lw.device + ' · ' + fmtTime(lw.at_ms) : '—'));
    });
  const actions = el('div', { class: 'row', id: 'status-actions' });
  if (!r.deleted) {
    for (const s of ['verified', 'rejected', 'enrolled']) {
      actions.append(el('button', { type: 'button', class: s === 'rejected' ? 'danger' : '',
        onclick: () => confirmBox(actions, el('p', {}, t('confirm_status') + ' "' + statusWord(s) + '"?'), async () => {
          await api('POST', '/v1/web/records/' + encodeURIComponent(id) + '/status', { status: s });
          say(t('saved'));
          route();
        }) }, t('to_' + s)));
    }
  }
  const list = (items, render) => items.length ? el('ul', {}, items.map((x) => el('li', {}, render(x)))) : el('p', { class: 'muted' }, t('none'));
  view.replaceChildren(
    el('h1', {}, t('record') + ': ' + (r.fields.full_name || r.id) + (r.deleted ? ' (' + t('deleted') + ')' : '')),
    el('p', { class: 'muted' }, r.id + ' · ' + dotted(r.scope) + ' ' + regionName(r.scope)),
    el('div', { class: 'panel' }, el('h2', {}, t('move_status') + ' (' + statusWord(r.fields.status) + ')'), actions),
    el('div', { class: 'scroll' }, el('table', { id: 'record-table' },
      el('thead', {}, el('tr', {}, el('th', {}, t('field')), el('th', {}, t('value')), el('th', {}, t('last_change')))),
      el('tbody', {}, rows))),
    el('h2', {}, t('history')),
    historyTable(hist, id),
    el('h2', {}, t('conflicts')),
    list(r.conflicts, (c) => [fieldLabel(c.field) + ': ', el('span', { class: 'value' }, showValue(c.winner.value)),
      ' / ', el('span', { class: 'value' }, showValue(c.loser.value)), ' — ' + statusWord(c.status) + ' ',
      c.status === 'open' ? el('a', { href: '#/conflicts' }, t('nav_conflicts')) : '']),
    el('h2', {}, t('duplicates')),
    list(r.duplicates, (d) => [d.record_ids.filter((x) => x !== id).map((x) =>
      el('a', { href: '#/record/' + encodeURIComponent(x) }, x)), ' — ' + statusWord(d.status)]),
    el('h2', {}, t('refused')),
    list(r.refused, (x) => [x.code + ': ' + x.message + ' — ' + statusWord(x.status)]));
};

// Laptops (admin): what each reported at its last push (pending changes) and the refused
// changes still open for it, from one page of the refused queue (at most 1,000).
L.pages.laptops = async (view) => {
  const [res, refused, tokens] = await Promise.all([
    api('GET', '/v1/admin/devices'), api('GET', '/v1/refused?status=open&limit=1000'),
    api('GET', '/v1/admin/tokens')]);
  const openRefused = new Map();
  for (const x of refused.refused) openRefused.set(x.device_id, (openRefused.get(x.device_id) || 0) + 1);
  const now = Date.now();
  const rows = res.devices.map((d) => {
    const report = (d.status && typeof d.status === 'object') ? d.status : {};
    const pending = Number.isFinite(report.pending) ? report.pending : null;
    // Stuck: no sync for 3 days, or changes waiting on it for 3 days.
    const stuck = !d.revoked && ((now - (d.last_sync_ms || d.registered_ms)) > 3 * 86400000 ||
      (pending > 0 && report.oldest_pending_ms && now - report.oldest_pending_ms > 3 * 86400000));
    const cell = el('td', {});
    if (!d.revoked) {
      cell.append(el('button', { type: 'button', class: 'danger', onclick: () => confirmBox(cell,
        el('p', {}, t('revoke') + ' ' + d.device_id + '?'), async () => {
          await api('POST', '/v1/admin/devices/' + encodeURIComponent(d.device_id) + '/revoke');
          say(t('saved'));
          route();
        }) }, t('revoke')));
    } else {
      cell.append(t('revoked'));
    }
    return el('tr', { class: stuck ? 'stuck' : '', 'data-device': d.device_id }, el('td', {}, d.device_id), el('td', {}, d.label),
      el('td', {}, (d.scope || []).map(dotted).join(', ')), el('td', {}, fmtTime(d.last_seen_ms)),
      el('td', {}, fmtTime(d.last_sync_ms) + (stuck ? ' (' + t('stuck') + ')' : '')),
      el('td', { class: 'num' }, pending === null ? '—' : pending),
      el('td', { class: 'num' }, openRefused.get(d.device_id) || 0),
      el('td', { class: 'num' }, d.acked_seq), cell);
  });
  // A one-time enrolment code for a new laptop (shown once; the laptop types it at
  // `lumbung init --server <this address> --code <code>`).
  const scopeIn = el('input', { id: 'code-scope', type: 'text', placeholder: '74.02.01', required: true });
  const labelIn = el('input', { id: 'code-label', type: 'text', placeholder: 'Laptop Desa …' });
  const made = el('div', { id: 'code-made', role: 'status' });
  const codeForm = el('form', { class: 'filters', onsubmit: (ev) => {
    ev.preventDefault();
    confirmBox(codeForm, el('p', {}, t('new_code') + ': ' + scopeIn.value + '?'), async () => {
      const c = await api('POST', '/v1/admin/codes', {
        scope: scopeIn.value.split(',').map((x) => x.trim()).filter(Boolean), label: labelIn.value.trim() });
      codeForm.querySelectorAll('.confirm').forEach((b) => b.remove());
      made.replaceChildren(el('p', {}, t('code') + ': ', el('strong', { class: 'value', id: 'code-value' }, c.code)),
        el('p', { class: 'muted' }, t('server') + ': ' + location.origin + ' · ' + t('valid_until') + ' ' + fmtTime(c.expires_ms)));
    });
  } }, el('div', {}, el('label', { for: 'code-scope' }, t('region')), scopeIn),
  el('div', {}, el('label', { for: 'code-label' }, t('name')), labelIn),
  el('button', { type: 'submit' }, t('new_code')));
  view.replaceChildren(el('h1', {}, t('nav_laptops')), codeForm, made, el('div', { class: 'scroll' }, el('table', { id: 'laptops-table' },
    el('thead', {}, el('tr', {}, [t('device'), t('name'), t('region'), t('last_seen'), t('last_sync'), t('pending'),
      t('refused_open'), t('acked'), ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, rows))), staffTokens(tokens.tokens));
};

// Reviewer credentials (admin): make one for some regions (the token is shown once, here
// only), list every reviewer and admin token, revoke one (its sessions end at once).
function staffTokens(list) {
  const regionsIn = el('input', { id: 'token-scope', type: 'text', placeholder: '74.02', required: true });
  const labelIn = el('input', { id: 'token-label', type: 'text', placeholder: 'Kab. Konawe', required: true });
  const made = el('div', { id: 'token-made', role: 'status' });
  const form = el('form', { class: 'filters', id: 'token-form', onsubmit: (ev) => {
    ev.preventDefault();
    const scope = regionsIn.value.split(',').map((x) => x.trim()).filter(Boolean);
    confirmBox(form, el('p', {}, t('new_token') + ': ' + labelIn.value + ' · ' + scope.join(', ') + '?'), async () => {
      const c = await api('POST', '/v1/admin/tokens', { role: 'reviewer', label: labelIn.value.trim(), scope });
      form.querySelectorAll('.confirm').forEach((b) => b.remove());
      made.replaceChildren(el('p', {}, t('token_made') + ': ', el('strong', { class: 'value', id: 'token-value' }, c.token)),
        el('p', { class: 'muted' }, t('token_once') + (c.expires_ms ? ' ' + t('valid_until') + ' ' + fmtTime(c.expires_ms) + '.' : '')));
    });
  } }, el('div', {}, el('label', { for: 'token-scope' }, t('token_regions')), regionsIn),
  el('div', {}, el('label', { for: 'token-label' }, t('name')), labelIn),
  el('button', { type: 'submit' }, t('new_token')));
  const rows = list.map((k) => {
    const cell = el('td', {});
    if (!k.revoked) {
      cell.append(el('button', { type: 'button', class: 'danger', onclick: () => confirmBox(cell,
        el('p', {}, t('revoke') + ' ' + k.label + '?'), async () => {
          await api('POST', '/v1/admin/tokens/' + encodeURIComponent(k.id) + '/revoke');
          say(t('saved'));
          route();
        }) }, t('revoke')));
    } else {
      cell.append(t('revoked'));
    }
    return el('tr', { 'data-token': k.id }, el('td', {}, k.label), el('td', {}, k.role),
      el('td', {}, (k.scope || []).length ? k.scope.map(dotted).join(', ') : t('all')),
      el('td', {}, fmtTime(k.created_ms)), el('td', {}, k.expires_ms ? fmtTime(k.expires_ms) : '—'), cell);
  });
  return el('section', {}, el('h2', {}, t('staff_tokens')), form, made,
    el('div', { class: 'scroll' }, el('table', { id: 'tokens-table' },
      el('thead', {}, el('tr', {}, [t('name'), t('role'), t('region'), t('created'), t('valid_until'), ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, rows))));
}

// The audit log (admin): newest entries first by paging from `after`, with the chain's check.
L.pages.audit = async (view, args, params) => {
  const after = params.get('after') || '';
  const action = params.get('action') || '';
  const [page, check] = await Promise.all([
    api('GET', '/v1/admin/audit?limit=200' + (after ? '&after=' + encodeURIComponent(after) : '')),
    api('GET', '/v1/admin/audit/verify'),
  ]);
  const entries = page.entries.filter((e) => !action || e.action === action);
  const actions = [...new Set(page.entries.map((e) => e.action))].sort();
  const filter = el('select', { id: 'audit-action', onchange: (ev) => {
    location.hash = '#/audit?action=' + encodeURIComponent(ev.target.value) + (after ? '&after=' + after : '');
  } }, el('option', { value: '' }, t('all')), actions.map((a) => el('option', { value: a, selected: a === action }, a)));
  const nav = el('div', { class: 'row' });
  if (page.more) nav.append(el('a', { href: '#/audit?after=' + page.next }, t('next') + ' ›'));
  view.replaceChildren(el('h1', {}, t('nav_audit')),
    el('p', { class: check.ok ? 'ok' : 'error', id: 'audit-state' },
      (check.ok ? t('audit_ok') : t('audit_broken')) + ' · ' + (check.entries || 0) + ' ' + t('entries')),
    check.ok ? '' : el('pre', { class: 'value' }, JSON.stringify(check.problems || check, null, 1)),
    el('div', { class: 'filters' }, el('label', { for: 'audit-action' }, t('action')), filter),
    el('div', { class: 'scroll' }, el('table', {},
      el('thead', {}, el('tr', {}, ['#', t('when'), t('role'), t('actor'), t('action'), t('target'), t('detail')].map((h) => el('th', {}, h)))),
      el('tbody', {}, entries.map((e) => el('tr', {}, el('td', { class: 'num' }, e.seq), el('td', {}, fmtTime(e.at_ms)),
        el('td', {}, e.role), el('td', {}, e.actor), el('td', {}, e.action), el('td', {}, e.target),
        el('td', { class: 'value' }, JSON.stringify(e.detail))))))),
    nav);
};
