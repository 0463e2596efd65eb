import type { RunSummary } from '../store/runs.ts';
import type { ReconcileReport } from './types.ts';

/** Every interpolated value goes through this: keys and values come from the databases. */
export function escapeHtml(v: unknown): string {
  return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:72rem}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}table{border-collapse:collapse;margin:.4rem 0}
td,th{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
.ok{color:#1a7f37;font-weight:600}.warn{color:#9a6700;font-weight:600}.bad{color:#cf222e;font-weight:600}code{font:12px ui-monospace,monospace}
.num{text-align:right;font-variant-numeric:tabular-nums}`;

const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;

/** A rate as a percentage with up to 4 decimals: 0.0003 → "0.03 %" (the CLI prints the same). */
export const pct = (r: number) => `${(r * 100).toFixed(4).replace(/\.?0+$/, '')} %`;
const n = (v: number) => v.toLocaleString('en-US');
const verdict = (r: ReconcileReport) =>
  r.verdict === 'within_tolerance'
    ? `<span class="ok">within tolerance</span>`
    : r.verdict === 'inconclusive'
      ? `<span class="warn">inconclusive</span>`
      : `<span class="bad">over tolerance</span>`;

/**
 * "1.2 s, 3,400 rows/s": the rate is over the time spent reading rows, so it is left out when
 * that was under a second (a rate over 40 rows read in 3 ms says nothing), whatever the wall
 * time with the grace wait was.
 */
export const durationText = (r: Pick<ReconcileReport, 'durationMs' | 'readMs' | 'rowsPerSecond'>) =>
  `${(r.durationMs / 1000).toFixed(1)} s${(r.readMs ?? r.durationMs) >= 1000 ? `, ${r.rowsPerSecond.toLocaleString('en-US')} rows/s` : ''}`;

function rows(pairs: [string, string][]): string {
  return `<table>${pairs.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

/** The page ops read: /admin/reconciliations/ID?format=html. */
export function renderReportHtml(run: RunSummary): string {
  const r = run.report;
  const title = `Reconciliation run ${run.runId}: ${run.entity}`;
  if (!r) {
    return page(
      title,
      `<h1>${escapeHtml(title)}</h1>${rows([
        ['status', escapeHtml(run.status)],
        ['started', escapeHtml(run.startedAt)],
        ['error', escapeHtml(run.error ?? '')],
      ])}<p><a href="/admin/reconciliations?format=html">all runs</a></p>`,
    );
  }
  const summary = rows([
    [
      'verdict',
      `${verdict(r)}: mismatch rate ${escapeHtml(pct(r.mismatchRate))} (tolerance ${escapeHtml(pct(r.tolerance))})${
        r.verdictReason ? `<br>${escapeHtml(r.verdictReason)}` : ''
      }`,
    ],
    ...(r.feedingProjection
      ? [
          [
            'projection',
            escapeHtml(
              `${r.feedingProjection.name}: ${r.feedingProjection.status}${r.feedingProjection.failing ? ` (failing: ${r.feedingProjection.failing})` : ''}, ${r.feedingProjection.lagEvents} events / ${Math.round(r.feedingProjection.lagMs)} ms behind`,
            ),
          ] as [string, string],
        ]
      : []),
    [
      'tables',
      `legacy <code>${escapeHtml(r.legacyTable)}</code> vs read model <code>${escapeHtml(r.readModelTable)}</code> (projection ${escapeHtml(r.projection)})`,
    ],
    ['rows', `legacy ${n(r.legacyRows)}, read model ${n(r.readModelRows)}, matched ${n(r.matched)}`],
    ['missing in projection', n(r.missingInProjection)],
    ['extra in projection', n(r.extraInProjection)],
    [
      'differing',
      `${n(r.differing)}${
        Object.keys(r.differingColumns).length
          ? ` (${Object.entries(r.differingColumns)
              .map(([c, k]) => `${escapeHtml(c)}: ${n(k)}`)
              .join(', ')})`
          : ''
      }`,
    ],
    ['pending (not projected yet)', n(r.pending)],
    ['resolved on re-check', n(r.resolvedOnRecheck)],
    [
      'table sha256',
      `legacy <code>${escapeHtml(r.tableSha256.legacy)}</code><br>read model <code>${escapeHtml(r.tableSha256.readModel)}</code>`,
    ],
    [
      'started / finished',
      `${escapeHtml(r.startedAt)} / ${escapeHtml(r.finishedAt)}${r.resumed ? ' (resumed after an interruption)' : ''}`,
    ],
    ['duration', `${durationText(r)}, ${n(r.chunks)} chunks (${n(r.prefilteredChunks)} equal by in-database checksum)`],
    ['prefilter', escapeHtml(`${r.prefilter.enabled ? 'on' : 'off'}: ${r.prefilter.reason}`)],
    [
      'trend',
      r.trend
        ? `previous run ${r.trend.previousRunId}: ${escapeHtml(pct(r.trend.previousMismatchRate))} (change ${r.trend.change >= 0 ? '+' : ''}${escapeHtml(pct(r.trend.change))})`
        : 'first run',
    ],
    [
      'trigger / config / encoding',
      `${escapeHtml(r.trigger)} / <code>${escapeHtml(r.configHash.slice(0, 16))}</code> / v${r.encodingVersion}`,
    ],
  ]);
  const skipped = r.skippedChunks.length
    ? `<h2>Skipped chunks (${r.skippedChunks.length})</h2><table><tr><th>after key</th><th>up to key</th><th>reason</th></tr>${r.skippedChunks
        .map(
          (c) =>
            `<tr><td><code>${escapeHtml(JSON.stringify(c.after))}</code></td><td><code>${escapeHtml(JSON.stringify(c.upTo))}</code></td><td>${escapeHtml(c.reason)}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  const columns = r.columns.map((c) => c.legacy);
  const samples = r.samples.length
    ? `<h2>Samples (${r.samples.length} of ${n(r.missingInProjection + r.extraInProjection + r.differing)})</h2><table><tr><th>key</th><th>class</th><th>side</th>${columns
        .map((c) => `<th>${escapeHtml(c)}</th>`)
        .join('')}</tr>${r.samples
        .map((s) =>
          (['legacy', 'readModel'] as const)
            .map(
              (side, i) =>
                `<tr>${i === 0 ? `<td rowspan="2"><code>${escapeHtml(s.key.join(', '))}</code></td><td rowspan="2">${escapeHtml(s.class)}</td>` : ''}<td>${side === 'legacy' ? 'legacy' : 'read model'}</td>${columns
                  .map((c) => {
                    const v = s[side]?.[c];
                    const mark = s.columns.includes(c) ? ' class="bad"' : '';
                    return `<td${mark}>${s[side] === null ? '<em>(no row)</em>' : v === null || v === undefined ? '<em>NULL</em>' : `<code>${escapeHtml(v)}</code>`}</td>`;
                  })
                  .join('')}</tr>`,
            )
            .join(''),
        )
        .join('')}</table>`
    : '';
  return page(
    title,
    `<h1>${escapeHtml(title)}</h1>${summary}${skipped}${samples}<p><a href="/admin/reconciliations?format=html">all runs</a> · <a href="/admin/reconciliations/${run.runId}">JSON</a></p>`,
  );
}

/** /admin/reconciliations?format=html */
export function renderRunListHtml(runs: readonly RunSummary[]): string {
  const body = runs.length
    ? `<table><tr><th>run</th><th>entity</th><th>status</th><th>trigger</th><th>started</th><th class="num">legacy rows</th><th class="num">mismatch rate</th><th>verdict</th></tr>${runs
        .map(
          (r) =>
            `<tr><td><a href="/admin/reconciliations/${r.runId}?format=html">${r.runId}</a></td><td>${escapeHtml(r.entity)}</td><td>${escapeHtml(r.status)}${r.error ? `: ${escapeHtml(r.error)}` : ''}</td><td>${escapeHtml(r.trigger)}</td><td>${escapeHtml(r.startedAt)}</td><td class="num">${r.report ? n(r.report.legacyRows) : ''}</td><td class="num">${r.report ? escapeHtml(pct(r.report.mismatchRate)) : ''}</td><td>${r.report ? verdict(r.report) : ''}</td></tr>`,
        )
        .join('')}</table>`
    : '<p>No reconciliation has run yet. Start one with <code>strangler reconcile</code> or <code>POST /admin/reconciliations</code>.</p>';
  return page('Reconciliations', `<h1>Reconciliations</h1>${body}`);
}
