// The operator console: plain JavaScript, no framework, no build step. Every value from the
// server goes into the page as text (textContent, attributes), never as HTML.
'use strict';

const KEY = 'messengerConsole.key';
const SPACES = 'messengerConsole.spaces';
const SPACE = 'messengerConsole.space';
const ADMIN = 'messengerConsole.admin';
const STATUSES = ['processing', 'retrying', 'sent', 'delivered', 'read', 'failed', 'expired'];
// The channels a message can go out on, as the API names them and as people do.
const CHANNELS = [
  { value: 'fbMessenger', label: 'Messenger' },
  { value: 'instagram', label: 'Instagram' },
  { value: 'sms', label: 'SMS' },
];
// What each Meta channel reports after a send. Instagram sends no delivery receipts: a message
// goes from sent to read, and its deliveryTimeout waits for the read.
const PROGRESS = {
  fbMessenger: { steps: ['sent', 'delivered', 'read'], note: 'Messenger reports delivery and read receipts.' },
  instagram: { steps: ['sent', 'read'], note: 'Instagram sends no delivery receipts: a message goes from sent to read.' },
};
const SERIES = [
  { name: 'accepted', dash: '', colour: '#0b57d0' },
  { name: 'sent', dash: '6 3', colour: '#6f42c1' },
  { name: 'delivered', dash: '2 2', colour: '#1a7f37' },
  { name: 'read', dash: '10 3 2 3', colour: '#9a6700' },
  { name: 'failed', dash: '1 4', colour: '#b42318' },
];
const QUEUES = [
  { name: 'dispatch', dash: '', colour: '#0b57d0' },
  { name: 'webhook', dash: '6 3', colour: '#6f42c1' },
  { name: 'forward', dash: '2 2', colour: '#1a7f37' },
  { name: 'forwardDead', dash: '1 4', colour: '#b42318' },
];

let timer = null;
let pages = [];

// ---- small helpers -------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

const key = () => sessionStorage.getItem(KEY);
const space = () => sessionStorage.getItem(SPACE);
const enc = encodeURIComponent;
const when = (t) => (t ? new Date(t).toLocaleString() : '');
const statusBadge = (s) => el('span', { class: 'status ' + s, text: s });
const channelName = (c) => (CHANNELS.find((x) => x.value === c) || { label: c || '' }).label;

class ApiError extends Error {
  constructor(status, problem) {
    const errors = (problem && problem.errors) || [];
    const detail = (problem && (problem.detail || problem.title)) || 'HTTP ' + status;
    super(detail + errors.map((e) => ' [' + e.code + (e.detail ? ': ' + e.detail : '') + ']').join(''));
    this.status = status;
  }
}

async function api(path, options) {
  const opts = Object.assign({ method: 'GET' }, options || {});
  opts.headers = Object.assign({ Authorization: 'Bearer ' + key(), Accept: 'application/json' }, opts.headers || {});
  const res = await fetch(path, opts);
  const text = await res.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (_) { body = null; }
  if (res.status === 401) { signOut('The key was refused: sign in again.'); throw new ApiError(401, body); }
  if (!res.ok) throw new ApiError(res.status, body);
  return { body, headers: res.headers, status: res.status };
}

function main() { return document.getElementById('main'); }

function show(title, ...content) {
  const m = main();
  m.replaceChildren(el('h2', { text: title }), ...content);
  document.title = title + ' · Messenger gateway console';
  for (const a of document.querySelectorAll('#nav a')) {
    const here = location.hash.startsWith(a.getAttribute('href'));
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  m.focus();
}

function notice(text, error) {
  return el('p', { class: 'notice' + (error ? ' error' : ''), role: error ? 'alert' : 'status', text });
}

function failed(e) {
  main().append(notice(e.message, true));
}

function table(headers, rows) {
  return el('table', {},
    el('thead', {}, el('tr', {}, headers.map((h) => el('th', { scope: 'col', text: h })))),
    el('tbody', {}, rows));
}

function facts(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter((p) => p[1] !== null && p[1] !== undefined && p[1] !== '')
    .flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
}

function hashQuery() {
  const i = location.hash.indexOf('?');
  return new URLSearchParams(i < 0 ? '' : location.hash.slice(i + 1));
}

// ---- sign-in -------------------------------------------------------------------------------

function signOut(message) {
  for (const k of [KEY, SPACES, SPACE, ADMIN]) sessionStorage.removeItem(k);
  document.getElementById('nav').hidden = true;
  if (location.hash !== '#/signin') location.hash = '#/signin';
  else route();
  if (message) setTimeout(() => main().append(notice(message, true)), 0);
}

function signInView() {
  document.getElementById('nav').hidden = true;
  const input = el('input', { id: 'key', name: 'key', type: 'password', autocomplete: 'off', required: true, size: 40 });
  const form = el('form', { class: 'signin filters' },
    el('label', { for: 'key' }, 'API key of a space, or an admin key', input),
    el('button', { type: 'submit', class: 'primary', id: 'signin' }, 'Sign in'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(KEY, input.value.trim());
    try {
      const { body } = await api('/console/api/session');
      sessionStorage.setItem(SPACES, JSON.stringify(body.spaces));
      sessionStorage.setItem(ADMIN, body.admin ? '1' : '');
      sessionStorage.setItem(SPACE, body.spaces[0] || '');
      setupNav();
      location.hash = '#/messages';
    } catch (e) {
      sessionStorage.removeItem(KEY);
      if (e.status !== 401) failed(e);
    }
  });
  show('Sign in', el('p', { text: 'The key stays in this tab (session storage) and is sent as a Bearer token; nothing is stored on the server.' }), form);
  input.focus();
}

function setupNav() {
  const select = document.getElementById('space');
  const spaces = JSON.parse(sessionStorage.getItem(SPACES) || '[]');
  select.replaceChildren(...spaces.map((s) => el('option', { value: s, text: s, selected: s === space() })));
  document.getElementById('nav').hidden = false;
}

// ---- messages ------------------------------------------------------------------------------

function messagesView() {
  const q = hashQuery();
  const field = (name, label, control) => el('label', { for: 'f-' + name }, label, control);
  const status = el('select', { id: 'f-status', name: 'status' });
  const channel = el('select', { id: 'f-channel', name: 'channel' }, el('option', { value: '', text: 'any' }),
    CHANNELS.map((c) => el('option', { value: c.value, text: c.label, selected: q.get('channel') === c.value })));
  // Instagram has no delivered state: with the Instagram filter, the statuses offered are its own.
  const statusOptions = () => {
    const chosen = status.value || q.get('status');
    const offered = channel.value === 'instagram' ? STATUSES.filter((s) => s !== 'delivered') : STATUSES;
    status.replaceChildren(el('option', { value: '', text: 'any' }),
      ...offered.map((s) => el('option', { value: s, text: s, selected: chosen === s })));
  };
  statusOptions();
  channel.addEventListener('change', statusOptions);
  const kinds = ['profileId', 'fbMessengerId', 'phoneNumber'];
  const kindNow = kinds.find((k) => q.get(k)) || 'profileId';
  const kind = el('select', { id: 'f-kind', name: 'kind' }, kinds.map((k) => el('option', { value: k, text: k, selected: k === kindNow })));
  const who = el('input', { id: 'f-who', name: 'who', value: q.get(kindNow) || '', size: 18 });
  const toLocal = (iso) => (iso ? new Date(iso).toISOString().slice(0, 16) : '');
  const since = el('input', { id: 'f-since', type: 'datetime-local', value: toLocal(q.get('since')) });
  const until = el('input', { id: 'f-until', type: 'datetime-local', value: toLocal(q.get('until')) });
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter messages' },
    field('status', 'Status', status), field('channel', 'Channel', channel),
    field('kind', 'Recipient by', kind), field('who', 'Recipient', who),
    field('since', 'Since (UTC)', since), field('until', 'Until (UTC)', until),
    el('button', { type: 'submit', class: 'primary' }, 'Filter'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (status.value) p.set('status', status.value);
    if (channel.value) p.set('channel', channel.value);
    if (who.value.trim()) p.set(kind.value, who.value.trim());
    if (since.value) p.set('since', new Date(since.value + 'Z').toISOString());
    if (until.value) p.set('until', new Date(until.value + 'Z').toISOString());
    pages = [];
    location.hash = '#/messages?' + p.toString();
  });
  const list = el('div', { id: 'message-list', 'aria-live': 'polite' });
  show('Messages', form, list);
  const filters = new URLSearchParams(q);
  filters.delete('cursor');
  loadMessages(list, filters, q.get('cursor'));
}

async function loadMessages(list, filters, cursor) {
  const p = new URLSearchParams(filters);
  p.set('limit', '50');
  if (cursor) p.set('cursor', cursor);
  try {
    const { body, headers } = await api('/apispaces/' + enc(space()) + '/messages?' + p.toString());
    const next = headers.get('Next-Cursor');
    const rows = body.map((m) => el('tr', {},
      el('td', { text: when(m.createdAt) }),
      el('td', {}, statusBadge(m.status)),
      el('td', { class: 'channel', text: channelName(m.channel) }),
      el('td', { class: 'mono', text: recipient(m.to) }),
      el('td', { class: 'mono sent-from', text: sentFrom(m.sentTo) }),
      el('td', { class: 'mono' }, el('a', { href: '#/messages/' + enc(m.id), text: m.id })),
      el('td', { text: m.error ? m.error.code : '' })));
    const base = '#/messages?' + filters.toString();
    const pager = el('div', { class: 'pager' },
      el('span', { text: body.length + ' message(s) on this page' }),
      cursor ? el('a', { href: base, text: 'First page' }) : null,
      next ? el('a', { href: base + (filters.toString() ? '&' : '') + 'cursor=' + enc(next), id: 'next-page', text: 'Next page' }) : null);
    list.replaceChildren(body.length ? table(['Accepted', 'Status', 'Channel', 'To', 'Sent from', 'Message id', 'Error'], rows)
      : notice('No message matches.'), pager);
  } catch (e) { failed(e); }
}

function recipient(to) {
  if (!to) return '';
  return ['profileId', 'fbMessengerId', 'instagramId', 'commentId', 'phoneNumber', 'mobileNumber', 'email']
    .filter((k) => to[k]).map((k) => k + ': ' + to[k]).join(', ');
}

// The page or Instagram account a message went out from (the API's sentTo).
function sentFrom(sentTo) {
  if (!sentTo) return '';
  if (sentTo.channel === 'instagram') return 'Instagram account ' + sentTo.accountId;
  return 'page ' + sentTo.pageId;
}

// Who received it there: the customer's PSID on Messenger, IGSID on Instagram.
function sentToWhom(sentTo) {
  if (!sentTo) return '';
  return sentTo.channel === 'instagram' ? 'IGSID ' + sentTo.instagramId : 'PSID ' + sentTo.fbMessengerId;
}

// The statuses the message's Meta channel reports, those reached marked.
function progress(channel, history) {
  const p = PROGRESS[channel];
  if (!p) return null;
  const reached = new Set(history.map((c) => c.status));
  return el('div', { id: 'progress' },
    el('ol', { class: 'progress', 'aria-label': channelName(channel) + ' statuses' }, p.steps.map((s) =>
      el('li', { class: reached.has(s) ? 'reached' : 'pending' }, statusBadge(s)))),
    el('p', { class: 'hint', text: p.note }));
}

async function messageView(id) {
  show('Message ' + id);
  try {
    const { body } = await api('/console/api/spaces/' + enc(space()) + '/messages/' + enc(id));
    const m = body.message;
    const content = [
      facts([
        ['Id', el('span', { class: 'mono', text: m.id })],
        ['Status', statusBadge(m.status)],
        ['Channel', el('span', { id: 'channel', text: m.channel ? channelName(m.channel) : 'not sent yet' })],
        ['Sent from', body.sentTo ? el('span', { id: 'sent-from', class: 'mono', text: sentFrom(body.sentTo) }) : null],
        ['Sent to', body.sentTo ? el('span', { id: 'sent-to', class: 'mono', text: sentToWhom(body.sentTo) }) : null],
        ['Accepted', when(m.createdAt)],
        ['Sent', when(body.sentAt)],
        ['Send attempts', String(body.attempts)],
        ['Recipient', el('span', { class: 'mono', text: recipient(body.request.to) })],
        ['Error', m.error ? m.error.code + ': ' + m.error.message : 'none'],
      ]),
      el('h3', { text: 'Status timeline' }),
      progress(body.sentTo ? body.sentTo.channel : m.channel, m.statusHistory),
      el('ol', { class: 'timeline', id: 'timeline' }, m.statusHistory.map((c) =>
        el('li', {}, statusBadge(c.status), ' ', when(c.at), c.reason ? ' (' + c.reason + ')' : ''))),
      el('h3', { text: 'Rule trace' }),
      m.ruleTrace.length ? table(['Channel', 'Outcome', 'Reason', 'At'], m.ruleTrace.map((r) => el('tr', { class: 'rule' },
        el('td', { text: channelName(r.channel) }), el('td', {}, statusBadge(r.outcome)), el('td', { text: r.reason }), el('td', { text: when(r.at) }))))
        : notice('No rule considered yet.'),
      el('h3', { text: 'Graph message ids' }),
      (m.graphMessageIds || []).length ? el('ul', {}, m.graphMessageIds.map((g) => el('li', { class: 'mono', text: g }))) : notice('None.'),
      el('h3', { text: 'Events sent to the business' }),
      body.events.length ? table(['Event', 'Name', 'Target', 'State', 'Attempts', 'Last error', 'Queued'], body.events.map((e) => el('tr', {},
        el('td', { class: 'mono', text: e.eventId }), el('td', { text: e.name }), el('td', { text: e.target }),
        el('td', {}, statusBadge(e.state)), el('td', { text: String(e.attempts) }), el('td', { text: e.lastError || '' }),
        el('td', { text: when(e.createdAt) }))))
        : notice('No event about this message (the space may not subscribe to them).'),
      el('h3', { text: 'Request as accepted' }),
      el('pre', { text: JSON.stringify(body.request, null, 2) }),
    ];
    main().append(...content);
  } catch (e) { failed(e); }
}

// ---- dead letters --------------------------------------------------------------------------

async function deadView() {
  const result = el('div', { id: 'redrive-result', role: 'status', 'aria-live': 'polite' });
  const list = el('div', { id: 'dead-list' });
  show('Dead letters', el('p', { text: 'Events the business\u2019s webhook refused until they were given up. Redrive makes them pending again.' }), result, list);
  await loadDead(list, result);
}

async function loadDead(list, result) {
  try {
    const { body } = await api('/apispaces/' + enc(space()) + '/webhooks/dead?limit=200');
    if (!body.length) { list.replaceChildren(notice('No dead letter.')); return; }
    const boxes = [];
    const rows = body.map((d, i) => {
      const box = el('input', { type: 'checkbox', id: 'dead-' + i, value: d.eventId, 'aria-label': 'Select ' + d.eventId });
      boxes.push(box);
      return el('tr', {},
        el('td', {}, box),
        el('td', { class: 'mono', text: d.eventId }), el('td', { text: d.name }), el('td', { text: d.target }),
        el('td', { text: String(d.attempts) }), el('td', { text: d.lastError || '' }), el('td', { text: when(d.createdAt) }),
        el('td', {}, el('details', {}, el('summary', { text: 'Envelope' }), el('pre', { text: JSON.stringify(d.event, null, 2) }))),
        el('td', {}, el('button', { type: 'button', class: 'redrive-one', onclick: () => redrive([d.eventId], list, result) }, 'Redrive')));
    });
    const all = el('button', { type: 'button', id: 'redrive-selected', class: 'primary', onclick: () =>
      redrive(boxes.filter((b) => b.checked).map((b) => b.value), list, result) }, 'Redrive selected');
    list.replaceChildren(table(['', 'Event', 'Name', 'Target', 'Attempts', 'Last error', 'Queued', 'Envelope', ''], rows),
      el('div', { class: 'pager' }, all));
  } catch (e) { failed(e); }
}

async function redrive(ids, list, result) {
  if (!ids.length) { result.replaceChildren(notice('Select at least one event.', true)); return; }
  const lines = [];
  for (const id of ids) {
    try {
      const { body } = await api('/apispaces/' + enc(space()) + '/webhooks/dead/' + enc(id) + '/redrive', { method: 'POST' });
      lines.push(el('li', { class: 'redriven', text: id + ': pending again (' + body.redriven + ' delivery)' }));
    } catch (e) {
      lines.push(el('li', { class: 'redrive-failed', text: id + ': ' + e.message }));
    }
  }
  result.replaceChildren(el('ul', {}, lines), el('p', {}, 'Follow the message to see the event delivered.'));
  await loadDead(list, result);
}

// ---- profiles ------------------------------------------------------------------------------

function profilesView() {
  const q = hashQuery();
  const kind = el('select', { id: 'p-kind' }, ['fbMessengerId', 'phoneNumber'].map((k) => el('option', { value: k, text: k, selected: q.get(k) !== null })));
  const value = el('input', { id: 'p-value', size: 24, value: q.get('fbMessengerId') || q.get('phoneNumber') || '' });
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Find profiles' },
    el('label', { for: 'p-kind' }, 'Search by', kind), el('label', { for: 'p-value' }, 'Messenger ID or phone number', value),
    el('button', { type: 'submit', class: 'primary' }, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const p = new URLSearchParams();
    if (value.value.trim()) p.set(kind.value, value.value.trim());
    location.hash = '#/profiles?' + p.toString();
  });
  const list = el('div', { id: 'profile-list' });
  show('Profiles', form, list);
  (async () => {
    try {
      const p = new URLSearchParams(q);
      p.set('limit', '100');
      const { body } = await api('/apispaces/' + enc(space()) + '/profiles?' + p.toString());
      list.replaceChildren(body.length ? table(['Profile', 'Name', 'Messenger ID', 'Phone number'], body.map((pr) => el('tr', {},
        el('td', { class: 'mono' }, el('a', { href: '#/profiles/' + enc(pr.id), text: pr.id })),
        el('td', { text: [pr.firstName, pr.lastName].filter(Boolean).join(' ') }),
        el('td', { class: 'mono', text: pr.fbMessengerId || '' }), el('td', { class: 'mono', text: pr.phoneNumber || '' }))))
        : notice('No profile matches.'));
    } catch (e) { failed(e); }
  })();
}

async function profileView(id) {
  show('Profile ' + id);
  try {
    const { body } = await api('/console/api/spaces/' + enc(space()) + '/profiles/' + enc(id));
    const p = body.profile;
    const fb = p.facebook || {};
    const picture = fb.profilePic ? el('img', { class: 'picture', src: fb.profilePic, alt: 'Facebook profile picture of ' + p.id }) : null;
    const links = body.messenger.length ? table(['Page', 'Messenger ID (PSID)', 'Linked', 'Last inbound message', '24-hour window'],
      body.messenger.map((l) => el('tr', {},
        el('td', { class: 'mono', text: l.pageId }), el('td', { class: 'mono', text: l.psid }), el('td', { text: l.linked ? 'yes' : 'no' }),
        el('td', { text: l.lastInboundAt ? when(l.lastInboundAt) : 'never seen' }),
        el('td', {}, statusBadge(l.windowOpen ? 'open' : 'closed'), l.windowOpen ? ' until ' + when(l.windowClosesAt) : ''))))
      : notice('No Messenger ID.');
    const instagram = (body.instagram || []).length ? table(['Instagram account', 'Instagram ID (IGSID)', 'Login', 'Last inbound message', '24-hour window'],
      body.instagram.map((l) => el('tr', { class: 'instagram-link' },
        el('td', { class: 'mono', text: l.accountId }), el('td', { class: 'mono', text: l.igsid }),
        el('td', { text: l.connected ? (l.login === 'instagram' ? 'Instagram Login' : 'through the Facebook page') : 'not connected to this space' }),
        el('td', { text: l.connected ? (l.lastInboundAt ? when(l.lastInboundAt) : 'never seen') : '' }),
        el('td', {}, l.connected ? statusBadge(l.windowOpen ? 'open' : 'closed') : '', l.windowOpen ? ' until ' + when(l.windowClosesAt) : ''))))
      : notice('No Instagram ID.');
    const sent = el('div', { id: 'profile-messages' });
    main().append(
      el('div', { class: 'row' }, picture, facts([
        ['Id', el('span', { class: 'mono', text: p.id })], ['First name', p.firstName], ['Last name', p.lastName],
        ['Messenger ID', p.fbMessengerId], ['Phone number', p.phoneNumber], ['E-mail', p.email]])),
      el('h3', { text: 'Facebook' }),
      Object.keys(fb).length ? facts(Object.entries(fb).map(([k, v]) => [k, String(v)])) : notice('No facebook section.'),
      el('h3', { text: 'Messenger' }), links,
      el('h3', { text: 'Instagram' }), instagram,
      el('h3', { text: 'Messages sent to this profile' }), sent);
    const filters = new URLSearchParams();
    filters.set('profileId', p.id);
    await loadMessages(sent, filters, null);
  } catch (e) { failed(e); }
}

// ---- live ----------------------------------------------------------------------------------

function chart(id, caption, series, data, unit) {
  const W = 600; const H = 200; const L = 40; const B = 20;
  const max = Math.max(1, ...data.flatMap((d) => series.map((s) => d[s.name] || 0)));
  const times = data.map((d) => Date.parse(d.t));
  const t1 = times.length ? times[times.length - 1] : Date.now();
  const t0 = t1 - 15 * 60 * 1000;
  const x = (t) => L + ((t - t0) / (t1 - t0 || 1)) * (W - L - 5);
  const y = (v) => H - B - (v / max) * (H - B - 10);
  const g = [
    svg('title', { text: caption }),
    svg('line', { class: 'axis', x1: L, y1: H - B, x2: W - 5, y2: H - B }),
    svg('line', { class: 'axis', x1: L, y1: 10, x2: L, y2: H - B }),
    svg('text', { x: 2, y: 14, text: String(max) }),
    svg('text', { x: 2, y: H - B, text: '0' }),
    svg('text', { x: L, y: H - 4, text: '-15 min' }),
    svg('text', { x: W - 40, y: H - 4, text: 'now' }),
  ];
  for (const s of series) {
    const pts = data.map((d, i) => [x(times[i]), y(d[s.name] || 0), d[s.name] || 0]);
    g.push(svg('polyline', { points: pts.map((p) => p[0].toFixed(1) + ',' + p[1].toFixed(1)).join(' '),
      stroke: s.colour, 'stroke-dasharray': s.dash, 'data-series': s.name }));
    for (const p of pts) if (p[2] > 0) g.push(svg('circle', { class: 'point', cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2.2, fill: s.colour }));
  }
  const last = data.length ? data[data.length - 1] : {};
  const legend = el('ul', { class: 'legend' }, series.map((s) => el('li', {},
    svg('svg', { width: 28, height: 8, 'aria-hidden': 'true' }, svg('line', { x1: 0, y1: 4, x2: 28, y2: 4, stroke: s.colour, 'stroke-width': 2, 'stroke-dasharray': s.dash })),
    ' ' + s.name + ': ' + (last[s.name] || 0) + unit)));
  return el('figure', { id }, el('figcaption', { text: caption }),
    svg('svg', { class: 'chart', viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': caption + ', last 15 minutes' }, g), legend);
}

function liveView() {
  const box = el('div', { id: 'live' });
  show('Live', el('p', { text: 'The last 15 minutes, from the gateway\u2019s own figures, refreshed every 2 seconds.' }), box);
  const draw = async () => {
    try {
      const { body } = await api('/console/api/spaces/' + enc(space()) + '/live');
      const sentLastMinute = body.points.slice(-60).reduce((n, p) => n + p.sent, 0);
      const charts = [chart('chart-messages', 'Messages per second', SERIES, body.points, '/s')];
      if (body.queues) charts.push(chart('chart-queues', 'Queue depths (every space)', QUEUES, body.queues, ''));
      box.replaceChildren(el('div', { class: 'charts' }, charts),
        body.queues ? null : notice('Queue depths count every space: sign in with an admin key to see them.'),
        el('h3', { text: 'Pages' }),
        table(['Page', 'Send rate (last minute)', 'Sending', 'Why', 'Until'], body.pages.map((p) => el('tr', {},
          el('td', { class: 'mono', text: p.pageId }), el('td', { text: (sentLastMinute / 60).toFixed(2) + ' messages/s' }),
          el('td', {}, statusBadge(p.paused ? 'paused (' + p.circuit + ')' : 'sending')),
          el('td', { text: p.reason || '' }), el('td', { text: when(p.until) })))),
        (body.instagram || []).length ? el('h3', { text: 'Instagram accounts' }) : null,
        (body.instagram || []).length ? table(['Instagram account', 'Login', 'Sending', 'Why', 'Until'], body.instagram.map((a) => el('tr', {},
          el('td', { class: 'mono', text: a.accountId }), el('td', { text: a.login === 'instagram' ? 'Instagram Login' : 'through the Facebook page' }),
          el('td', {}, statusBadge(a.paused ? 'paused (' + a.circuit + ')' : 'sending')),
          el('td', { text: a.reason || '' }), el('td', { text: when(a.until) })))) : null);
    } catch (e) { box.replaceChildren(notice(e.message, true)); }
  };
  draw();
  timer = setInterval(draw, 2000);
}

// ---- connection ----------------------------------------------------------------------------

function findingRows(findings) {
  return findings.map((f) => el('tr', {},
    el('td', {}, statusBadge(f.severity)), el('td', { text: f.check }),
    el('td', { text: f.message }), el('td', { text: f.action || '' })));
}

async function connectionView() {
  show('Connection', el('p', { text: 'The page\u2019s connection to Meta, asked of Graph now: its token, the app\u2019s webhook subscription, the Graph version, and the signed webhook deliveries this instance has seen.' }));
  try {
    const { body } = await api('/console/api/spaces/' + enc(space()) + '/connection');
    const page = body.report.pages[0];
    const parts = [];
    if (body.needsReauth) {
      parts.push(notice('The page needs new credentials (' + body.needsReauth.problem + '): ' + body.needsReauth.reason + '. ' + body.needsReauth.action + '. Its messages wait.', true));
    }
    parts.push(facts([
      ['Page', el('span', { class: 'mono', text: page.pageId })],
      ['Token', statusBadge(page.token.state)],
      ['Graph version', body.report.graphVersion],
      ['Subscribed fields', (page.subscribedFields || []).join(', ') || 'none'],
      ['Fields needed', page.neededFields.join(', ')],
    ]));
    parts.push(el('h3', { text: 'Findings' }),
      table(['', 'Check', 'Found', 'What to do'], findingRows(body.report.version.concat(page.findings))));
    parts.push(el('h3', { text: 'Webhook deliveries recorded' }),
      table(['Field', 'Last signed delivery'], page.webhookLastSeen.map(([field, at]) => el('tr', {},
        el('td', { class: 'mono', text: field }), el('td', { text: at ? when(at) : 'never recorded (by any instance sharing the database)' })))));
    main().append(el('div', { id: 'connection' }, parts));
  } catch (e) { failed(e); }
}

// ---- routing -------------------------------------------------------------------------------

function route() {
  if (timer) { clearInterval(timer); timer = null; }
  const hash = location.hash || '#/messages';
  const path = hash.slice(1).split('?')[0];
  if (!key()) { if (path !== '/signin') { location.hash = '#/signin'; return; } signInView(); return; }
  setupNav();
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'messages' && parts[1]) messageView(parts[1]);
  else if (parts[0] === 'dead') deadView();
  else if (parts[0] === 'profiles' && parts[1]) profileView(parts[1]);
  else if (parts[0] === 'profiles') profilesView();
  else if (parts[0] === 'live') liveView();
  else if (parts[0] === 'connection') connectionView();
  else if (parts[0] === 'signin') { location.hash = '#/messages'; }
  else messagesView();
}

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('signout').addEventListener('click', () => signOut());
  document.getElementById('space').addEventListener('change', (ev) => {
    sessionStorage.setItem(SPACE, ev.target.value);
    route();
  });
  window.addEventListener('hashchange', route);
  route();
});
