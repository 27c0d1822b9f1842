// Review pages: conflicts side by side, duplicates side by side, refused changes. They use
// the existing review API (/v1/conflicts, /v1/duplicates, /v1/refused) with the session.
'use strict';

// Names of the people in a page of entries: one record read per record id (bounded by the
// page size of 50).
async function personNames(ids) {
  const out = new Map();
  await Promise.all([...new Set(ids)].slice(0, 50).map(async (id) => {
    try {
      const r = await api('GET', '/v1/web/records/' + encodeURIComponent(id));
      out.set(id, r.fields.full_name || id);
    } catch (e) { out.set(id, id); }
  }));
  return out;
}

// An edit/delete entry marks its delete side: a cleared field is also null, so '—' alone
// would not tell the reviewer which choice deletes the record.
function sideValue(side) { return side.delete ? t('side_delete') : showValue(side.value); }

function sideBox(title, side, kept) {
  const v = side.version || [];
  return el('div', { class: 'side' + (kept ? ' kept' : '') },
    el('div', { class: 'muted' }, title),
    el('div', { class: 'value' }, sideValue(side)),
    el('div', { class: 'muted' }, t('device') + ': ' + (v[1] || '—') + ' · ' + fmtTime(v[0] ? Math.floor(v[0] / 65536) : 0)));
}

L.pages.conflicts = async (view) => {
  const res = await api('GET', '/v1/conflicts?status=open&limit=50');
  const names = await personNames(res.conflicts.map((c) => c.record_id));
  const cards = res.conflicts.map((c) => {
    const card = el('div', { class: 'panel conflict', 'data-id': c.id });
    const resolve = (body, preview) => confirmBox(card,
      el('p', {}, t('preview') + ': ' + fieldLabel(c.field) + ' ' + t('will_set') + ' "' + preview + '"'), async () => {
        await api('POST', '/v1/conflicts/' + encodeURIComponent(c.id) + '/resolve', body);
        say(t('resolve_done'));
        route();
      });
    const own = el('input', { type: 'text', 'aria-label': t('own_value') });
    card.append(
      el('h2', {}, el('a', { href: '#/record/' + encodeURIComponent(c.record_id) }, names.get(c.record_id) || c.record_id),
        ' — ' + (c.field ? fieldLabel(c.field) : c.kind)),
      el('p', { class: 'muted' }, t('found') + ': ' + fmtTime(c.found_ms) + ' · ' + c.kind),
      el('div', { class: 'grid2' },
        el('div', {}, sideBox(t('kept_value'), c.winner, true),
          el('button', { type: 'button', class: 'keep-winner', onclick: () => resolve({ keep: 'winner' }, sideValue(c.winner)) }, t('use_this'))),
        el('div', {}, sideBox(t('other_value'), c.loser, false),
          el('button', { type: 'button', class: 'keep-loser', onclick: () => resolve({ keep: 'loser' }, sideValue(c.loser)) }, t('use_this')))));
    if (c.kind !== 'update_delete') {
      card.append(el('div', { class: 'row' }, el('label', {}, t('own_value')), own,
        el('button', { type: 'button', class: 'secondary', onclick: () => {
          if (own.value.trim()) resolve({ value: own.value.trim() }, own.value.trim());
        } }, t('use_own'))));
    }
    return card;
  });
  view.replaceChildren(el('h1', {}, t('nav_conflicts') + ' (' + res.total + ')'),
    ...(cards.length ? cards : [el('p', {}, t('none'))]));
};

L.pages.duplicates = async (view) => {
  const res = await api('GET', '/v1/duplicates?status=open&limit=50');
  const cards = res.duplicates.map((d) => {
    const card = el('div', { class: 'panel duplicate', 'data-id': d.id });
    const [a, b] = d.records;
    const names = new Set([...Object.keys(a.fields || {}), ...Object.keys(b.fields || {})]);
    const ordered = L.fields.map((f) => f.name).filter((n) => names.has(n));
    // Each differing field: which record's value the survivor keeps (A or B), chosen
    // explicitly; an empty value is never taken (the merge fills only from a value).
    const diffs = [];
    const rows = ordered.map((n) => {
      const va = showValue((a.fields || {})[n]);
      const vb = showValue((b.fields || {})[n]);
      const differ = va !== vb && n !== 'merged_into';
      if (differ) diffs.push(n);
      const choice = (side, v) => differ && v !== '—' ? el('label', {}, el('input', { type: 'radio',
        name: 'field-' + d.id + '-' + n, value: side, class: 'field-choice', 'data-field': n,
        'aria-label': fieldLabel(n) + ' ' + side.toUpperCase() }), ' ') : '';
      return el('tr', { class: differ ? 'diff' : '' }, el('th', {}, fieldLabel(n)),
        el('td', { class: 'value' }, choice('a', va), va), el('td', { class: 'value' }, choice('b', vb), vb));
    });
    const pick = (rec, label) => el('label', {}, el('input', { type: 'radio', name: 'survivor-' + d.id, value: rec.id,
      disabled: !!(rec.outside_your_regions || rec.missing) }), ' ' + t('keep_this') + ' (' + label + ')');
    const merge = el('button', { type: 'button', class: 'merge', onclick: () => {
      const chosen = card.querySelector('input[name="survivor-' + d.id + '"]:checked');
      if (!chosen) { say(t('survivor') + '?', true); return; }
      const keptName = chosen.value === a.id ? t('record_a') : t('record_b');
      const otherSide = chosen.value === a.id ? 'b' : 'a';
      const take = [...card.querySelectorAll('input.field-choice:checked')]
        .filter((i) => i.value === otherSide).map((i) => i.dataset.field);
      const body = take.length ? { survivor: chosen.value, take } : { survivor: chosen.value };
      confirmBox(card, el('p', {}, t('survivor') + ': ' + keptName + '. ' +
        (take.length ? t('taken_fields') + ': ' + take.map(fieldLabel).join(', ') + '. ' : '') + t('merge_preview')), async () => {
        await api('POST', '/v1/duplicates/' + encodeURIComponent(d.id) + '/merge', body);
        say(t('merge_done'));
        route();
      });
    } }, t('merge'));
    card.append(
      el('h2', {}, t('duplicates') + ': ' + ((a.fields || {}).nik || (b.fields || {}).nik || d.id)),
      el('p', { class: 'muted' }, t('found') + ': ' + fmtTime(d.found_ms) + (d.cross_region ? ' · lintas wilayah' : '')),
      el('div', { class: 'scroll' }, el('table', {},
        el('thead', {}, el('tr', {}, el('th', {}, t('field')),
          el('th', {}, el('a', { href: '#/record/' + encodeURIComponent(a.id) }, t('record_a')), a.outside_your_regions ? ' (' + t('outside') + ')' : ''),
          el('th', {}, el('a', { href: '#/record/' + encodeURIComponent(b.id) }, t('record_b')), b.outside_your_regions ? ' (' + t('outside') + ')' : ''))),
        el('tbody', {}, rows))),
      el('div', { class: 'row' }, pick(a, t('record_a')), pick(b, t('record_b')), merge));
    return card;
  });
  view.replaceChildren(el('h1', {}, t('nav_duplicates') + ' (' + res.total + ')'),
    ...(cards.length ? cards : [el('p', {}, t('none'))]));
};

L.pages.refused = async (view) => {
  const res = await api('GET', '/v1/refused?status=open&limit=50');
  const cards = res.refused.map((x) => {
    const card = el('div', { class: 'panel refused', 'data-id': x.id });
    const set = (x.op && x.op.set) || {};
    // Each field of the op can be corrected before re-applying; only changed ones are sent.
    const inputs = new Map();
    const rows = Object.entries(set).map(([k, v]) => {
      const inp = el('input', { type: 'text', value: showValue(v), 'aria-label': fieldLabel(k) });
      inputs.set(k, [inp, v]);
      return el('tr', { class: k === x.field ? 'diff' : '' }, el('th', {}, fieldLabel(k)), el('td', {}, inp));
    });
    const note = el('textarea', { rows: 2, 'aria-label': t('note'), class: 'note' });
    const apply = el('button', { type: 'button', class: 'apply', onclick: () => {
      const fix = {};
      for (const [k, [inp, v]] of inputs) {
        if (inp.value !== showValue(v)) fix[k] = Array.isArray(v) ? inp.value.split(',').map((s) => s.trim()) : inp.value;
      }
      confirmBox(card, el('p', {}, t('apply') + (Object.keys(fix).length ? ': ' + Object.keys(fix).map(fieldLabel).join(', ') : '') + '?'), async () => {
        await api('POST', '/v1/refused/' + encodeURIComponent(x.id) + '/apply', Object.keys(fix).length ? { set: fix } : {});
        say(t('apply_done'));
        route();
      });
    } }, t('apply'));
    const dismiss = el('button', { type: 'button', class: 'secondary dismiss', onclick: () =>
      confirmBox(card, el('p', {}, t('dismiss') + '?'), async () => {
        await api('POST', '/v1/refused/' + encodeURIComponent(x.id) + '/dismiss', note.value.trim() ? { note: note.value.trim() } : {});
        say(t('dismiss_done'));
        route();
      }) }, t('dismiss'));
    card.append(
      // A known code by its label (a draft kept for review), any other as it is.
      el('h2', {}, (t('code_' + x.code) === 'code_' + x.code ? x.code : t('code_' + x.code)) +
        (x.field ? ' — ' + fieldLabel(x.field) : '')),
      el('p', {}, t('reason') + ': ' + x.message),
      el('p', { class: 'muted' }, t('device') + ': ' + x.device_id + (x.seq ? ' #' + x.seq : '') + ' · ' + t('found') + ': ' +
        fmtTime(x.found_ms) + ' · ' + dotted(x.scope) + ' ' + regionName(x.scope)),
      rows.length ? el('div', { class: 'scroll' }, el('table', {}, el('tbody', {}, rows))) : el('p', { class: 'muted' }, t('none')),
      el('div', { class: 'row' }, apply),
      el('div', { class: 'row' }, el('label', {}, t('note')), note, dismiss));
    return card;
  });
  view.replaceChildren(el('h1', {}, t('nav_refused') + ' (' + res.total + ')'),
    ...(cards.length ? cards : [el('p', {}, t('none'))]));
};
