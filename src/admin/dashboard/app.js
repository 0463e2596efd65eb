// The strangler-sidecar dashboard: plain JavaScript, no build step, no dependencies. It reads
// the admin API's JSON endpoints with the session cookie (HttpOnly: this script never sees it,
// nor the token it was made from) and sends changes with the CSRF token GET /session gives.
// Everything from the server is put on the page as text (textContent), never as HTML.
'use strict';

const POLL_MS = 2000;
const SVG = 'http://www.w3.org/2000/svg';

const state = {
  /** {name, role, csrf, expiresAt} while logged in. */
  session: null,
  timer: null,
  /** Bumped whenever polling restarts, so one chain of polls runs at a time. */
  generation: 0,
  /** entity name → the card's elements. */
  cards: new Map(),
  busy: false,
};

const $ = (id) => document.getElementById(id);

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('data-')) node.setAttribute(k, v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

const pct = (rate) => (rate === null || rate === undefined ? '–' : `${(rate * 100).toFixed(rate > 0 && rate < 0.001 ? 3 : 2)} %`);
const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : '–');
const dateTime = (iso) => (iso ? new Date(iso).toLocaleString() : '–');
const stageText = (s) => (s.stage === 'canary' ? `canary ${s.percent} %` : s.stage) + (s.paused ? ' (paused)' : '');

// ---------------------------------------------------------------- HTTP

class HttpError extends Error {
  constructor(status, body) {
    super((body && (body.detail || body.title)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.session) headers['x-csrf-token'] = state.session.csrf;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text.slice(0, 200) };
  }
  if (!res.ok) throw new HttpError(res.status, parsed);
  return parsed;
}

// ---------------------------------------------------------------- session

function showLogin(message) {
  stopPolling();
  state.session = null;
  state.cards.clear();
  $('entities').replaceChildren();
  $('board').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('login-token').focus();
}

function showBoard(session) {
  state.session = session;
  $('login').hidden = true;
  $('board').hidden = false;
  $('who').hidden = false;
  $('who-name').textContent = session.name;
  $('who-role').textContent = session.role;
  $('who-role').className = `badge role-${session.role}`;
  document.body.dataset.role = session.role;
  startPolling();
}

async function login(event) {
  event.preventDefault();
  const input = $('login-token');
  const token = input.value.trim();
  input.value = ''; // not kept by the page, not even in the form
  try {
    const session = await fetch('/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({ token }),
    }).then(async (res) => {
      const body = await res.json().catch(() => null);
      if (!res.ok) throw new HttpError(res.status, body);
      return body;
    });
    showBoard(session);
  } catch (err) {
    $('login-error').textContent = err.message;
  }
}

async function logout() {
  try {
    await api('POST', '/session/logout');
  } catch {
    // Logged out either way: the cookie is cleared or was not valid any more.
  }
  showLogin('Logged out.');
}

// ---------------------------------------------------------------- polling

function startPolling() {
  stopPolling();
  void poll(state.generation);
}

/** Ends the current polling chain; a poll still in flight sees the generation change and neither renders nor reschedules. */
function stopPolling() {
  state.generation += 1;
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

/** A part that fails (reconciliation not configured, a timeout) leaves the rest of the page. */
const optional = (p) =>
  p.then(
    (value) => ({ value }),
    (error) => ({ error }),
  );

async function poll(generation) {
  state.timer = null;
  const session = state.session;
  if (!session || generation !== state.generation) return;
  // A tab in the background asks nothing; it catches up within one interval of coming back.
  if (document.hidden) {
    state.timer = setTimeout(() => void poll(generation), POLL_MS);
    return;
  }
  const [status, guard, shadow, runs, audit] = await Promise.all([
    optional(api('GET', '/admin/status')),
    optional(api('GET', '/admin/guard')),
    optional(api('GET', '/admin/shadow')),
    optional(api('GET', '/admin/reconciliations?limit=100')),
    optional(api('GET', '/admin/audit?limit=50')),
  ]);
  if (state.session !== session || generation !== state.generation) return; // logged out, or a newer poll started
  const parts = [status, guard, shadow, runs, audit];
  if (parts.some((p) => p.error && p.error.status === 401)) return showLogin('The session has ended; log in again.');
  try {
    render({
      status: status.value,
      statusError: status.error,
      guard: guard.value,
      shadow: shadow.value,
      runs: runs.value,
      runsError: runs.error,
      audit: audit.value,
    });
  } finally {
    if (generation === state.generation) state.timer = setTimeout(() => void poll(generation), POLL_MS);
  }
}

// ---------------------------------------------------------------- rendering

function setText(node, text, cls) {
  if (node.textContent !== text) node.textContent = text;
  if (cls !== undefined && node.className !== cls) node.className = cls;
}

function render(data) {
  const { status } = data;
  if (!status) {
    setText($('s-ready'), `unavailable: ${data.statusError ? data.statusError.message : '?'}`, 'value bad');
    return;
  }
  setText($('s-ready'), status.ready ? 'ready' : 'not ready', status.ready ? 'value ok' : 'value bad');
  const up = status.upstream;
  const upState = up ? up.status || 'unknown' : 'unknown';
  setText(
    $('s-upstream'),
    up ? `${upState}${up.consecutiveFailures ? ` (${up.consecutiveFailures} failures)` : ''}` : 'unknown',
    upState === 'reachable' ? 'value ok' : 'value bad',
  );
  $('s-upstream').title = up && up.url ? `${up.url}${up.lastError ? `\nlast error: ${up.lastError}` : ''}` : '';
  const spool = status.spool;
  const depth = spool && typeof spool.depth === 'number' ? spool.depth : null;
  setText(
    $('s-spool'),
    depth === null ? '–' : `${depth}${spool.draining ? ' (draining)' : ''}${spool.halted ? ' (halted)' : ''}`,
    depth ? 'value warn' : 'value ok',
  );
  const store = status.eventStore;
  setText(
    $('s-store'),
    store.reachable ? `head ${store.headPosition}` : `unreachable: ${store.error}`,
    store.reachable ? 'value ok' : 'value bad',
  );
  $('s-store').title = store.description;
  setText($('s-updated'), time(status.generatedAt), 'value');

  const projections = new Map((status.projections || []).map((p) => [p.name, p]));
  const runsByEntity = new Map();
  for (const run of (data.runs && data.runs.runs) || []) {
    if (!runsByEntity.has(run.entity)) runsByEntity.set(run.entity, []);
    runsByEntity.get(run.entity).push(run);
  }
  const guardEntities = (data.guard && data.guard.entities) || {};
  const shadowEntities = (data.shadow && data.shadow.entities) || {};
  const auditEntries = (data.audit && data.audit.entries) || [];

  const seen = new Set();
  for (const entity of status.entities) {
    seen.add(entity.name);
    let card = state.cards.get(entity.name);
    if (!card) {
      card = createCard(entity.name);
      state.cards.set(entity.name, card);
      $('entities').append(card.root);
    }
    updateCard(card, {
      entity,
      projection: entity.projection ? projections.get(entity.projection) : undefined,
      projectionsError: status.projectionsError,
      guard: guardEntities[entity.name],
      shadow: shadowEntities[entity.name],
      runs: runsByEntity.get(entity.name) || [],
      runsAvailable: !!data.runs,
      audit: auditEntries.filter((a) => a.entity === entity.name).slice(0, 8),
    });
  }
  for (const [name, card] of state.cards) {
    if (seen.has(name)) continue;
    card.root.remove();
    state.cards.delete(name);
  }
}

function section(title, ...children) {
  return el('section', { class: 'part' }, el('h4', { text: title }), ...children);
}

function createCard(name) {
  const operator = state.session && state.session.role === 'operator';
  const c = {};
  c.stage = el('span', { class: 'stage', 'data-field': 'stage' });
  c.root = el('article', { class: 'entity', 'data-entity': name }, el('header', {}, el('h3', { text: name }), c.stage));

  // Reads: stage and canary percent, the canary actions.
  c.canaryActions = operator
    ? el(
        'div',
        { class: 'actions' },
        actionButton('Promote', 'promote', () => canaryAction(name, 'promote')),
        actionButton('Set %', 'set-percent', () => canaryAction(name, 'set')),
        actionButton('Roll back', 'rollback', () => canaryAction(name, 'rollback')),
        actionButton('Pause', 'pause', () => canaryAction(name, 'pause')),
        actionButton('Resume', 'resume', () => canaryAction(name, 'resume')),
      )
    : null;
  c.readsInfo = el('p', { class: 'muted', 'data-field': 'reads' });
  c.root.append(section('Reads', c.readsInfo, c.canaryActions));

  // Projection: state and lag.
  c.projState = el('span', { 'data-field': 'projection-state' });
  c.projLag = el('span', { class: 'lag', 'data-field': 'lag' });
  c.projDetail = el('p', { class: 'muted' });
  c.projActions = operator
    ? el(
        'div',
        { class: 'actions' },
        actionButton('Pause projection', 'projection-pause', () => projectionAction(c.projectionName, 'pause')),
        actionButton('Resume projection', 'projection-resume', () => projectionAction(c.projectionName, 'resume')),
      )
    : null;
  c.projName = el('span', { class: 'muted' });
  c.root.append(section('Projection', el('p', {}, c.projName, ' ', c.projState, ' · lag ', c.projLag), c.projDetail, c.projActions));

  // Guard gates.
  c.guardInfo = el('p', { class: 'muted' });
  c.gates = el('tbody');
  c.root.append(
    section(
      'Guard',
      c.guardInfo,
      el(
        'table',
        { class: 'gates', 'data-field': 'gates' },
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            el('th', { text: 'gate' }),
            el('th', { text: 'value' }),
            el('th', { text: 'threshold' }),
            el('th', { text: 'state' }),
          ),
        ),
        c.gates,
      ),
    ),
  );

  // Reconciliation: last verdict, trend, reports.
  c.verdict = el('p', { 'data-field': 'verdict' });
  c.chart = el('div', { class: 'chart', 'data-field': 'trend' });
  c.reportLinks = el('p', { class: 'muted' });
  c.reconcileActions = operator
    ? el(
        'div',
        { class: 'actions' },
        actionButton('Start reconciliation', 'reconcile', () => startReconciliation(name)),
      )
    : null;
  c.root.append(section('Reconciliation', c.verdict, c.chart, c.reportLinks, c.reconcileActions));

  // Shadow comparison.
  c.shadowRate = el('p', { 'data-field': 'shadow' });
  c.shadowPaths = el('ol', { class: 'paths' });
  c.root.append(section('Shadow', c.shadowRate, c.shadowPaths));

  // Audit.
  c.audit = el('ol', { class: 'audit', 'data-field': 'audit' });
  c.root.append(section('Audit (recent)', c.audit));
  return c;
}

function actionButton(label, action, onClick) {
  const b = el('button', { type: 'button', class: 'action', 'data-action': action, text: label });
  b.addEventListener('click', () => void onClick());
  return b;
}

function updateCard(c, d) {
  const { entity } = d;
  setText(c.stage, stageText(entity), `stage stage-${entity.stage}${entity.paused ? ' paused' : ''}`);
  setText(
    c.readsInfo,
    entity.stage === 'passthrough'
      ? 'No command of the spec writes this entity: nothing is captured, nothing to move.'
      : entity.stage === 'dual_write'
        ? 'Legacy answers every read; commands are captured as events.'
        : entity.stage === 'shadow'
          ? 'Legacy answers every read; the read model answers in the background and the two are compared.'
          : entity.stage === 'complete'
            ? 'The read model answers every read.'
            : `${entity.percent} % of the keys are read from the read model, the rest from legacy.`,
  );

  // Projection
  c.projectionName = entity.projection;
  const p = d.projection;
  if (!entity.projection) {
    setText(c.projName, 'none');
    setText(c.projState, '');
    setText(c.projLag, '–');
    setText(c.projDetail, '');
  } else if (!p) {
    setText(c.projName, entity.projection);
    setText(c.projState, d.projectionsError ? 'unavailable' : 'unknown', 'state-bad');
    setText(c.projLag, '–');
    setText(c.projDetail, d.projectionsError || '');
  } else {
    setText(c.projName, p.name);
    setText(c.projState, p.state, `state-${p.state}`);
    setText(c.projLag, `${p.lagEvents} events, ${p.lagMs} ms`);
    setText(
      c.projDetail,
      p.failure
        ? `failed at position ${p.failure.position}: ${p.failure.error}`
        : p.pause
          ? `paused by ${p.pause.by || '?'}${p.pause.reason ? `: ${p.pause.reason}` : ''}`
          : p.rebuild
            ? `rebuilding to version ${p.rebuild.version}: ${p.rebuild.remaining} events left`
            : `position ${p.position}, ${p.appliedEvents} events applied`,
    );
  }
  if (c.projActions) {
    const [pause, resume] = c.projActions.children;
    pause.disabled = !p || p.state !== 'running';
    resume.disabled = !p || (p.state !== 'paused' && p.state !== 'failed');
  }

  // Guard
  const g = d.guard;
  if (!g) {
    setText(c.guardInfo, 'no evaluation yet');
    c.gates.replaceChildren();
  } else {
    setText(
      c.guardInfo,
      `policy ${g.policy}${g.dryRun ? ' (dry run)' : ''} · evaluated ${time(g.evaluatedAt)}${g.consecutiveFailures ? ` · ${g.consecutiveFailures} failing in a row` : ''}${g.lastAction ? ` · last action: ${g.lastAction.action || JSON.stringify(g.lastAction)}` : ''}`,
    );
    const rows = (g.gates || []).map((gate) =>
      el(
        'tr',
        { class: `gate-${gate.state}`, title: gate.note || '' },
        el('td', { text: gate.name }),
        el('td', { class: 'num', text: gateValue(gate.name, gate.value) }),
        el('td', { class: 'num', text: gateValue(gate.name, gate.threshold) }),
        el('td', { text: gate.state }),
      ),
    );
    c.gates.replaceChildren(
      ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '4', class: 'muted', text: 'no gates at this stage' }))]),
    );
  }

  // Reconciliation
  const last = d.entity.lastReconciliation;
  if (!last) setText(c.verdict, d.runsAvailable ? 'no run yet' : 'reconciliation is not configured on this sidecar', 'muted');
  else {
    const v = last.verdict || last.status;
    setText(
      c.verdict,
      `run #${last.runId}: ${v}${last.mismatchRate !== null ? ` · mismatch ${pct(last.mismatchRate)}` : ''}${last.finishedAt ? ` · ${dateTime(last.finishedAt)}` : ''}${last.error ? ` · ${last.error}` : ''}`,
      `verdict verdict-${v}`,
    );
    c.verdict.dataset.runId = String(last.runId);
  }
  const threshold = g && (g.gates || []).find((x) => x.name === 'state_mismatch');
  const key = d.runs.map((r) => `${r.runId}:${r.status}:${r.mismatchRate}`).join(',') + `|${threshold ? threshold.threshold : ''}`;
  if (c.chartKey !== key) {
    c.chartKey = key;
    c.chart.replaceChildren(trendChart(d.runs, threshold ? threshold.threshold : null));
  }
  const links = [
    el('a', {
      href: `/admin/reconciliations?format=html&entity=${encodeURIComponent(entity.name)}`,
      target: '_blank',
      rel: 'noopener',
      text: 'all runs',
    }),
  ];
  if (last)
    links.push(
      ' · ',
      el('a', {
        href: `/admin/reconciliations/${last.runId}?format=html`,
        target: '_blank',
        rel: 'noopener',
        'data-field': 'report-link',
        text: `report #${last.runId}`,
      }),
    );
  const linkKey = `${entity.name}:${last ? last.runId : ''}`;
  if (c.linkKey !== linkKey) {
    c.linkKey = linkKey;
    c.reportLinks.replaceChildren(...links);
  }

  // Shadow
  const s = d.shadow;
  const routes = s ? Object.values(s.routes) : [];
  if (!routes.length) {
    setText(
      c.shadowRate,
      entity.stage === 'shadow' || entity.stage === 'canary' ? 'no read compared yet' : 'no shadow comparison (not in shadow)',
      'muted',
    );
    c.shadowPaths.replaceChildren();
  } else {
    const sum = (k) => routes.reduce((n, r) => n + (r[k] || 0), 0);
    const compared = sum('match') + sum('mismatch') + sum('noisy');
    const rate = compared ? sum('mismatch') / compared : null;
    setText(
      c.shadowRate,
      `mismatch ${pct(rate)} of ${compared} compared reads · ${sum('noisy')} noisy · ${sum('error')} errors · ${sum('shed')} shed`,
      rate ? 'warn' : '',
    );
    const top = topPaths(s);
    c.shadowPaths.replaceChildren(
      ...(top.length
        ? top.map(([path, n]) => el('li', {}, el('code', { text: path }), ` ×${n}`))
        : [el('li', { class: 'muted', text: 'no differing path' })]),
    );
  }

  // Audit
  const auditKey = d.audit.map((a) => a.id).join(',');
  if (c.auditKey !== auditKey) {
    c.auditKey = auditKey;
    c.audit.replaceChildren(
      ...(d.audit.length
        ? d.audit.map((a) =>
            el(
              'li',
              { 'data-audit-id': String(a.id) },
              el('span', { class: 'muted', text: `${dateTime(a.at)} ` }),
              el('strong', { text: a.actor }),
              ` ${a.action}: ${a.before ? stageText(a.before) : '?'} → ${a.after ? stageText(a.after) : '?'}`,
              a.reason ? el('span', { class: 'reason', text: ` — ${a.reason}` }) : null,
            ),
          )
        : [el('li', { class: 'muted', text: 'no change recorded' })]),
    );
  }
}

function gateValue(name, v) {
  if (v === null || v === undefined) return '–';
  if (name.includes('mismatch') || name === 'read_errors') return pct(v);
  if (name === 'read_latency') return `×${Number(v).toFixed(2)}`;
  return String(v);
}

/** The paths that differed most: sampled mismatches' diffs, then paths found noisy (never counted as mismatches). */
function topPaths(summary) {
  const counts = new Map();
  for (const sample of summary.samples || [])
    for (const diff of sample.diffs || []) {
      const path = typeof diff.path === 'string' ? diff.path || '(body)' : '(body)';
      counts.set(path, (counts.get(path) || 0) + 1);
    }
  const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
  for (const route of Object.values(summary.routes))
    for (const path of route.noisyPaths || []) if (top.length < 8 && !counts.has(path)) top.push([`${path} (noisy)`, 0]);
  return top.map(([p, n]) => [p, n || '–']);
}

/** Mismatch rate of the entity's recent finished runs, oldest first, with the guard's threshold. */
function trendChart(runs, threshold) {
  const points = runs
    .filter((r) => typeof r.mismatchRate === 'number')
    .slice(0, 30)
    .reverse();
  const W = 320;
  const H = 90;
  const pad = { l: 44, r: 8, t: 8, b: 16 };
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', class: 'trend' });
  const title = svg('title');
  title.textContent = `mismatch rate over the last ${points.length} reconciliation runs`;
  root.append(title);
  if (!points.length) {
    const t = svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' });
    t.textContent = 'no finished run yet';
    root.append(t);
    return root;
  }
  const max = Math.max(threshold || 0, ...points.map((p) => p.mismatchRate), 0.001) * 1.15;
  const x = (i) => pad.l + (points.length === 1 ? (W - pad.l - pad.r) / 2 : (i * (W - pad.l - pad.r)) / (points.length - 1));
  const y = (v) => pad.t + (1 - v / max) * (H - pad.t - pad.b);
  root.append(svg('line', { x1: pad.l, y1: y(0), x2: W - pad.r, y2: y(0), class: 'axis' }));
  for (const v of [0, max / 1.15]) {
    const t = svg('text', { x: pad.l - 4, y: y(v) + 3, 'text-anchor': 'end', class: 'tick' });
    t.textContent = pct(v);
    root.append(t);
  }
  if (threshold) root.append(svg('line', { x1: pad.l, y1: y(threshold), x2: W - pad.r, y2: y(threshold), class: 'threshold' }));
  root.append(svg('polyline', { points: points.map((p, i) => `${x(i)},${y(p.mismatchRate)}`).join(' '), class: 'line' }));
  points.forEach((p, i) => {
    const dot = svg('circle', { cx: x(i), cy: y(p.mismatchRate), r: 3, class: `dot verdict-${p.verdict || p.status}` });
    const tip = svg('title');
    tip.textContent = `run #${p.runId}: ${pct(p.mismatchRate)} ${p.verdict || p.status} (${dateTime(p.finishedAt || p.startedAt)})`;
    dot.append(tip);
    root.append(dot);
  });
  const label = svg('text', { x: W - pad.r, y: H - 3, 'text-anchor': 'end', class: 'tick' });
  label.textContent = `${points.length} run${points.length === 1 ? '' : 's'}${threshold ? ` · dashed: guard threshold ${pct(threshold)}` : ''}`;
  root.append(label);
  return root;
}

// ---------------------------------------------------------------- actions

function message(text, kind) {
  const m = $('message');
  m.textContent = text;
  m.className = `message ${kind || ''}`;
  m.hidden = !text;
}

/** Asks for a reason (and a percent for `set`) in a dialog; null when cancelled. */
function askReason(title, withPercent) {
  const dialog = $('reason-dialog');
  $('reason-title').textContent = title;
  $('percent-field').hidden = !withPercent;
  $('reason-percent').required = withPercent;
  $('reason-percent').value = withPercent ? '10' : '';
  $('reason-text').value = '';
  return new Promise((resolve) => {
    const form = $('reason-form');
    const done = (value) => {
      form.removeEventListener('submit', onSubmit);
      $('reason-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const reason = $('reason-text').value.trim();
      if (!reason) return;
      done({ reason, percent: withPercent ? Number($('reason-percent').value) : undefined });
    };
    const onCancel = (e) => {
      if (e) e.preventDefault();
      done(null);
    };
    form.addEventListener('submit', onSubmit);
    $('reason-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    $(withPercent ? 'reason-percent' : 'reason-text').focus();
  });
}

async function act(label, fn) {
  if (state.busy) return;
  state.busy = true;
  try {
    const text = await fn();
    if (text) message(text, 'ok');
  } catch (err) {
    if (err.status === 401) return showLogin('The session has ended; log in again.');
    message(`${label} failed: ${err.message}`, 'error');
  } finally {
    state.busy = false;
    if (state.session) startPolling(); // show the result now, not at the next tick
  }
}

async function canaryAction(entity, action) {
  const titles = {
    promote: `Promote ${entity} to the next step`,
    set: `Set the share of ${entity}'s keys read from the read model`,
    rollback: `Roll ${entity}'s reads back`,
    pause: `Pause ${entity}'s promotion`,
    resume: `Resume ${entity}'s promotion`,
  };
  const answer = await askReason(titles[action], action === 'set');
  if (!answer) return;
  await act(titles[action], async () => {
    const r =
      action === 'set'
        ? await api('PUT', `/admin/canary/${encodeURIComponent(entity)}`, { percent: answer.percent, reason: answer.reason })
        : await api('POST', `/admin/canary/${encodeURIComponent(entity)}/${action}`, { reason: answer.reason });
    return `${entity}: ${action} ${stageText(r.before)} → ${stageText(r.after)}`;
  });
}

async function projectionAction(name, action) {
  if (!name) return;
  const answer = await askReason(`${action === 'pause' ? 'Pause' : 'Resume'} the ${name} projection`, false);
  if (!answer) return;
  await act(`${action} ${name}`, async () => {
    await api('POST', `/admin/projections/${encodeURIComponent(name)}/${action}`, { reason: answer.reason });
    return `projection ${name}: ${action}d`;
  });
}

async function startReconciliation(entity) {
  await act(`reconciling ${entity}`, async () => {
    const r = await api('POST', '/admin/reconciliations', { entity });
    return `reconciliation of ${entity} started: run ${r.runs.map((x) => `#${x.runId}`).join(', ')}`;
  });
}

// ---------------------------------------------------------------- start

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (e) => void login(e));
  $('logout').addEventListener('click', () => void logout());
  fetch('/session', { credentials: 'same-origin', headers: { accept: 'application/json' }, cache: 'no-store' })
    .then(async (res) => (res.ok ? showBoard(await res.json()) : showLogin('')))
    .catch((err) => showLogin(`The sidecar did not answer: ${err.message}`));
});
