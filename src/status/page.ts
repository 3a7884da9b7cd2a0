/**
 * The status page (GET /): the same data as /status.json, drawn by a small script that fetches it again
 * every few seconds. Read-only, one self-contained document (no external script, style, font or image),
 * sized for a laptop screen.
 *
 * Participant-chosen strings (team names) are only ever put into the page as text: the first data is
 * embedded with `jsonForScript`, and the script builds every cell with `textContent`, never with HTML.
 * The answer's Content-Security-Policy allows only this document's own script (by nonce) and requests to
 * its own origin, so even a string that got through as markup could not run anything.
 */
import { randomBytes } from 'node:crypto';
import { escapeHtml, jsonForScript } from './html.js';
import type { StatusReport } from './report.js';

/** How often the page fetches /status.json again. */
export const PAGE_REFRESH_SECONDS = 3;

const STYLE = `
:root { color-scheme: light dark; --fg: #1d2327; --muted: #5f6b73; --bg: #fbfbfc; --card: #fff; --line: #dde1e4;
  --ok: #1f7a3d; --warn: #a15c00; --bad: #b3261e; --bar: #3b6fd8; }
@media (prefers-color-scheme: dark) { :root { --fg: #e7eaec; --muted: #9aa5ad; --bg: #15181a; --card: #1d2124;
  --line: #30363a; --ok: #5fcf86; --warn: #f0ad4e; --bad: #ff8a80; --bar: #7aa2f7; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 32px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 16px; }
h1 { font-size: 20px; margin: 0; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.muted { color: var(--muted); }
.badge { display: inline-block; padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 13px; border: 1px solid currentColor; }
.ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
.summary { display: flex; flex-wrap: wrap; gap: 8px 28px; margin-top: 12px; }
.summary b { font-size: 18px; }
.notice { margin-top: 14px; padding: 10px 14px; border-radius: 8px; border: 1px solid var(--line); background: var(--card); }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; background: var(--card); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 7px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: middle; }
th { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); font-weight: 600; }
tr:last-child td { border-bottom: 0; }
td.text { max-width: 180px; overflow: hidden; text-overflow: ellipsis; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.bar { display: inline-block; width: 56px; height: 8px; border-radius: 4px; background: var(--line); vertical-align: middle; margin-right: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: var(--bar); }
.empty { padding: 14px; color: var(--muted); }
footer { margin-top: 24px; font-size: 13px; color: var(--muted); }
`;

/** The page's script: draws a report, then fetches and draws it again every PAGE_REFRESH_SECONDS. */
const SCRIPT = `
(function () {
  'use strict';
  var REFRESH_MS = ${PAGE_REFRESH_SECONDS * 1000};
  var lastGood = null;
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) for (var key in attrs) {
      if (key === 'text') node.textContent = attrs[key];
      else if (key === 'class') node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    }
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }
  function text(value) { return document.createTextNode(value === null || value === undefined ? '' : String(value)); }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return '';
    seconds = Math.max(0, Math.round(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    if (h > 0) return h + ' h ' + m + ' min';
    if (m > 0) return m + ' min ' + s + ' s';
    return s + ' s';
  }
  function clock(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '' : d.toLocaleTimeString();
  }
  function ago(iso, now) {
    if (!iso) return '';
    return duration((now - new Date(iso).getTime()) / 1000) + ' ago';
  }
  function cell(value, cls, title) {
    var attrs = { text: value === null || value === undefined ? '' : String(value) };
    if (cls) attrs['class'] = cls;
    if (title) attrs.title = title;
    return el('td', attrs);
  }
  function progressCell(progress) {
    if (typeof progress !== 'number') return cell('—', 'muted');
    var pct = Math.max(0, Math.min(100, progress));
    var fill = el('span');
    fill.style.width = pct + '%';
    return el('td', null, [el('span', { 'class': 'bar' }, [fill]), text(Math.round(pct) + '%')]);
  }
  function table(headers, rows, empty) {
    if (rows.length === 0) return el('div', { 'class': 'scroll' }, [el('div', { 'class': 'empty', text: empty })]);
    var head = el('tr', null, headers.map(function (h) { return el('th', { text: h }); }));
    return el('div', { 'class': 'scroll' }, [el('table', null, [el('thead', null, [head]), el('tbody', null, rows)])]);
  }
  function render(report, problem) {
    var now = new Date(report.generatedAt).getTime();
    var root = document.getElementById('app');
    var health = report.health || {};
    var state = report.stopping ? ['stopping', 'warn'] : !health.healthy ? ['unhealthy', 'bad']
      : report.draining ? ['draining', 'warn'] : ['running', 'ok'];
    var title = el('header', null, [
      el('h1', { text: 'synapse-orchestrator' }),
      el('code', { text: report.orchestratorId }),
      el('span', { 'class': 'badge ' + state[1], text: state[0], 'data-state': state[0] }),
      el('span', { 'class': 'muted', text: 'version ' + report.version })
    ]);
    var waiting = report.queues.reduce(function (n, q) { return n + (q.waiting || 0); }, 0);
    var summary = el('div', { 'class': 'summary' }, [
      el('span', null, [el('b', { text: report.running.length + ' / ' + report.maxConcurrent }), text(' running')]),
      el('span', null, [el('b', { text: String(waiting) }), text(' waiting in ' + report.queues.length + ' queue(s)')]),
      el('span', null, [el('b', { text: String(report.messages.ready + report.messages.held) }), text(' message(s) to send')]),
      el('span', { 'class': 'muted', text: 'last tick ' + (report.lastTickAt ? ago(report.lastTickAt, now) : 'not yet') })
    ]);
    var notices = [];
    if (problem) notices.push(el('div', { 'class': 'notice bad', role: 'alert', text: problem }));
    if (!health.healthy && health.reason) notices.push(el('div', { 'class': 'notice bad', text: 'Not healthy: ' + health.reason }));
    if (report.draining) notices.push(el('div', { 'class': 'notice warn', text: 'Draining (' + report.draining + '): nothing new starts; running evaluations finish.' }));
    if (report.messages.failed > 0) notices.push(el('div', { 'class': 'notice warn', text: report.messages.failed + ' message(s) could not be sent and were given up on (see the log).' }));
    var running = report.running.map(function (r) {
      var row = el('tr', { 'data-submission': r.submissionId }, [
        cell(r.submissionId),
        cell(r.evaluationId),
        cell(r.submitter, 'text', r.submitter),
        cell(r.state),
        cell(clock(r.startedAt), null, r.startedAt),
        cell(duration(r.elapsedSeconds), 'num'),
        progressCell(r.progress),
        el('td', { 'class': 'text', title: r.container || '' }, [el('code', { text: r.container || '' })]),
        cell(r.lastLogUploadAt ? ago(r.lastLogUploadAt, now) : 'not yet', r.lastLogUploadAt ? null : 'muted', r.lastLogUploadAt)
      ]);
      return row;
    });
    var queues = report.queues.map(function (q) {
      return el('tr', null, [
        cell(q.evaluationId),
        cell(q.running, 'num'),
        cell(q.waiting === null ? '—' : q.waiting, 'num'),
        q.listingError
          ? cell('last listing failed: ' + q.listingError, 'text bad', q.listingError)
          : cell(q.waitingSeenAt ? ago(q.waitingSeenAt, now) : 'not listed yet', 'muted')
      ]);
    });
    var footer = el('footer', null, [text('Read-only. Updated ' + clock(report.generatedAt) +
      '; refreshes every ' + (REFRESH_MS / 1000) + ' s. The same data: '),
      el('a', { href: 'status.json', text: 'status.json' }), text(' · '), el('a', { href: 'metrics', text: 'metrics' })]);
    var content = el('main', { id: 'app' }, [title, summary].concat(notices, [
      el('h2', { text: 'Running evaluations' }),
      table(['Submission', 'Queue', 'Submitter', 'State', 'Started', 'Elapsed', 'Progress', 'Container', 'Last log upload'],
        running, 'Nothing runs on this instance.'),
      el('h2', { text: 'Queues' }),
      table(['Queue', 'Running here', 'Waiting', 'Last listed'], queues, 'No queue configured.'),
      footer
    ]));
    root.replaceWith(content);
    document.title = (report.running.length > 0 ? '(' + report.running.length + ') ' : '') + 'synapse-orchestrator ' + report.orchestratorId;
  }
  function refresh() {
    fetch('status.json', { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (response) { if (!response.ok) throw new Error('HTTP ' + response.status); return response.json(); })
      .then(function (report) { lastGood = report; render(report, null); })
      .catch(function (error) {
        if (lastGood) render(lastGood, 'Cannot reach the orchestrator (' + error.message + '); showing what it said at ' + clock(lastGood.generatedAt) + '.');
      })
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }
  var first = document.getElementById('initial-status');
  if (first) { lastGood = JSON.parse(first.textContent); render(lastGood, null); }
  setTimeout(refresh, REFRESH_MS);
})();
`;

export interface StatusPage {
  html: string;
  /** The Content-Security-Policy the page needs (its own script by nonce, requests to its own origin). */
  contentSecurityPolicy: string;
}

export function renderStatusPage(report: StatusReport): StatusPage {
  const nonce = randomBytes(16).toString('base64');
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>synapse-orchestrator ${escapeHtml(report.orchestratorId)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main id="app"><p class="muted">Loading the status of ${escapeHtml(report.orchestratorId)}… (this page needs JavaScript; the same data is at <a href="status.json">status.json</a>)</p></main>
<script type="application/json" id="initial-status">${jsonForScript(report)}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
  return {
    html,
    contentSecurityPolicy: [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "img-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}
