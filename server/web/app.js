// The office page's core: DOM helper (text only: every name and value is hostile input and
// is set with textContent, never parsed as HTML), the API client with the session's CSRF
// token, login/logout, region names, and the hash router. Pages are in pages.js/review.js.
'use strict';

const L = {
  csrf: '', me: null, fields: [], names: new Map(), lang: 'id', pages: {},
};

function t(key) {
  const d = window.LUMBUNG_T[L.lang] || window.LUMBUNG_T.id;
  return d[key] || window.LUMBUNG_T.id[key] || key;
}

// el('td', {class: 'num', onclick: fn}, 'text', childNode, ...): strings become text nodes.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    // Through the CSSOM: the CSP forbids style attributes (style-src has no 'unsafe-inline').
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function say(text, isError) {
  const s = document.getElementById('status');
  s.textContent = text || '';
  s.className = isError ? 'error' : '';
  if (text && !isError) setTimeout(() => { if (s.textContent === text) s.textContent = ''; }, 3000);
}

class ApiError extends Error {
  constructor(status, problem) {
    super((problem && problem.detail) || ('HTTP ' + status));
    this.status = status;
    this.code = problem && problem.code;
    this.reason = problem && problem.reason;
  }
}

// Every state change carries X-CSRF-Token; the cookie goes along by itself (same origin).
async function api(method, path, body) {
  const opt = { method, credentials: 'same-origin', headers: {} };
  if (method !== 'GET') opt.headers['X-CSRF-Token'] = L.csrf;
  if (body !== undefined) {
    opt.headers['Content-Type'] = 'application/json';
    opt.body = JSON.stringify(body);
  }
  const r = await fetch(path, opt);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok) {
    if (r.status === 401 && path !== '/v1/web/login') {
      showLogin(t('session_ended'));
    }
    throw new ApiError(r.status, j);
  }
  return j;
}

function dotted(code) {
  code = String(code || '');
  if (code.length <= 2) return code;
  const parts = [code.slice(0, 2), code.slice(2, 4)];
  if (code.length > 4) parts.push(code.slice(4, 6));
  if (code.length > 6) parts.push(code.slice(6));
  return parts.join('.');
}
function regionName(code) { return L.names.get(String(code)) || ''; }
function levelOf(len) {
  return { 2: 'provinsi', 4: 'kabupaten', 6: 'kecamatan', 10: 'desa' }[len] || 'desa';
}
function fmtTime(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  return d.toLocaleString(L.lang === 'en' ? 'en-GB' : 'id-ID');
}
function fieldLabel(name) {
  const f = L.fields.find((x) => x.name === name);
  return f && f.label ? f.label : name;
}
function showValue(v) {
  if (v === null || v === undefined) return '—';
  if (Array.isArray(v)) return v.join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
function statusWord(s) { return t(s) !== s ? t(s) : s; }

// Region names: the embedded Kemendagri subset (wilayah.csv, RFC 4180, "code,name,level").
async function loadNames() {
  if (L.names.size) return;
  const r = await fetch('/wilayah.csv', { credentials: 'same-origin' });
  const text = await r.text();
  const lines = text.split('\n');
  for (let i = 1; i < lines.length && i < 200000; i++) {
    const line = lines[i];
    if (!line) continue;
    let code, name;
    const c1 = line.indexOf(',');
    code = line.slice(0, c1);
    let rest = line.slice(c1 + 1);
    if (rest.startsWith('"')) {
      const end = rest.indexOf('",', 1);
      name = rest.slice(1, end).replace(/""/g, '"');
    } else {
      name = rest.slice(0, rest.lastIndexOf(','));
    }
    L.names.set(code, name);
  }
}

function applyLabels() {
  document.documentElement.lang = L.lang;
  for (const e of document.querySelectorAll('[data-t]')) e.textContent = t(e.dataset.t);
  document.getElementById('lang').textContent = t('lang_other');
}

function showLogin(message) {
  L.me = null;
  L.csrf = '';
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  document.getElementById('view').replaceChildren();
  document.getElementById('login-view').hidden = false;
  document.getElementById('login-error').textContent = message || '';
  document.getElementById('token').focus();
}

function loggedIn(info) {
  L.me = info;
  L.csrf = info.csrf;
  if (info.fields) L.fields = info.fields;
  document.getElementById('login-view').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  for (const a of document.querySelectorAll('.admin-only')) a.hidden = info.role !== 'admin';
  const regions = (info.regions || []).map(dotted).join(', ');
  document.getElementById('who').textContent =
    (info.label || info.role) + (regions ? ' · ' + regions : '');
}

async function login(ev) {
  ev.preventDefault();
  const input = document.getElementById('token');
  try {
    const r = await api('POST', '/v1/web/login', { token: input.value.trim() });
    input.value = '';
    L.csrf = r.csrf;
    loggedIn(await api('GET', '/v1/web/session'));
    route();
  } catch (e) {
    document.getElementById('login-error').textContent = e.message;
  }
}

async function logout() {
  try { await api('POST', '/v1/web/logout'); } catch (e) { /* ended anyway */ }
  showLogin('');
}

// "#/page/arg?x=1" -> page(arg, params). Unknown pages fall back to progress.
async function route() {
  if (!L.me) return;
  const hash = location.hash.replace(/^#\/?/, '') || 'progress';
  const [pathPart, queryPart] = hash.split('?');
  const [page, ...args] = pathPart.split('/');
  const params = new URLSearchParams(queryPart || '');
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', a.getAttribute('href') === '#/' + page);
  }
  const fn = L.pages[page] || L.pages.progress;
  const view = document.getElementById('view');
  view.replaceChildren(el('p', { class: 'muted' }, t('loading')));
  try {
    await fn(view, args.map(decodeURIComponent), params);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      view.replaceChildren(el('p', { class: 'error', role: 'alert' }, t('error') + ': ' + e.message));
    }
  }
  // Focus for keyboard and screen-reader users, without scrolling past the header.
  document.getElementById('main').focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

// A two-step action: the button shows a preview with Yes/Cancel; Yes runs `run`.
function confirmBox(container, previewNodes, run) {
  const box = el('div', { class: 'confirm', role: 'alertdialog' }, previewNodes);
  const yes = el('button', { type: 'button', onclick: async () => {
    yes.disabled = true;
    try { await run(); } catch (e) { say(t('error') + ': ' + e.message, true); yes.disabled = false; }
  } }, t('yes'));
  const no = el('button', { type: 'button', class: 'secondary', onclick: () => box.remove() }, t('cancel'));
  box.append(el('div', { class: 'row' }, yes, no));
  container.querySelectorAll('.confirm').forEach((b) => b.remove());
  container.append(box);
  yes.focus();
}

document.addEventListener('DOMContentLoaded', async () => {
  L.lang = localStorage.getItem('lumbung_lang') || 'id';
  applyLabels();
  document.getElementById('login-form').addEventListener('submit', login);
  document.getElementById('logout').addEventListener('click', logout);
  document.getElementById('lang').addEventListener('click', () => {
    L.lang = L.lang === 'id' ? 'en' : 'id';
    localStorage.setItem('lumbung_lang', L.lang);
    applyLabels();
    route();
  });
  window.addEventListener('hashchange', route);
  try { await loadNames(); } catch (e) { /* codes are shown without names */ }
  try {
    loggedIn(await api('GET', '/v1/web/session'));
    route();
  } catch (e) {
    showLogin('');
  }
});
