// The dashboard: one hand-written page, no build step, no library. It reads the admin API only
// (with the bearer token, kept in sessionStorage, never a cookie) and writes every value with
// textContent, so nothing a client chose (its id, its certificate subject) is ever markup.

import { createHash } from 'node:crypto';

const SCRIPT = `
const store = sessionStorage;
const params = new URLSearchParams(location.search);
if (params.has('token')) {
  store.setItem('warden-token', params.get('token'));
  history.replaceState(null, '', location.pathname);
}
const $ = (id) => document.getElementById(id);
const history60 = [];
let last;

async function api(path, init = {}) {
  const token = store.getItem('warden-token');
  const headers = token ? { authorization: 'Bearer ' + token } : {};
  const response = await fetch(path, { ...init, headers });
  if (response.status === 401) { showLogin(); throw new Error('unauthorized'); }
  return response.json();
}

function showLogin() { $('login').hidden = false; $('main').hidden = true; }

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  store.setItem('warden-token', $('token').value);
  $('token').value = '';
  $('login').hidden = true;
  refresh();
});

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '' : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function fill(table, headings, rows) {
  table.replaceChildren();
  const head = table.insertRow();
  for (const h of headings) { const th = document.createElement('th'); th.textContent = h; head.appendChild(th); }
  for (const r of rows) r(table.insertRow());
}

const ageClass = (days) => (days < 7 ? 'red' : days < 30 ? 'amber' : 'ok');

function drawRates() {
  const canvas = $('rates');
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, canvas.width, canvas.height);
  const max = Math.max(1, ...history60.flatMap((p) => [p.in, p.out, p.dropped]));
  const series = [['in', '#2b6cb0'], ['out', '#2f855a'], ['dropped', '#c53030']];
  for (const [key, color] of series) {
    g.strokeStyle = color;
    g.beginPath();
    history60.forEach((p, i) => {
      const x = (i / 59) * (canvas.width - 1);
      const y = canvas.height - 1 - (p[key] / max) * (canvas.height - 12);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  }
  g.fillStyle = '#444';
  g.fillText('max ' + max.toFixed(0) + ' msg/s', 4, 10);
}

async function refresh() {
  const [overview, clients, listeners] = await Promise.all([
    api('/api/overview'),
    api('/api/clients?limit=200&prefix=' + encodeURIComponent($('search').value)),
    api('/api/listeners'),
  ]);
  $('main').hidden = false;
  const now = Date.now();
  if (last) {
    const s = (now - last.at) / 1000;
    history60.push({
      in: (overview.messagesReceived - last.o.messagesReceived) / s,
      out: (overview.messagesSent - last.o.messagesSent) / s,
      dropped: (overview.messagesDropped - last.o.messagesDropped) / s,
    });
    if (history60.length > 60) history60.shift();
    $('rateIn').textContent = history60.at(-1).in.toFixed(1);
    $('rateOut').textContent = history60.at(-1).out.toFixed(1);
    $('rateDropped').textContent = history60.at(-1).dropped.toFixed(1);
  }
  last = { at: now, o: overview };
  $('connections').textContent = overview.connections;
  $('sessions').textContent = overview.sessions;
  drawRates();
  fill($('handshakes'), ['reason', 'count'], Object.entries(overview.handshakeFailures).map(([reason, n]) => (row) => { cell(row, reason); cell(row, n); }));
  fill($('logins'), ['listener', 'reason', 'count'], overview.loginFailures.map((f) => (row) => { cell(row, f.listener); cell(row, f.reason); cell(row, f.count); }));

  const certs = [];
  for (const l of listeners.listeners) {
    if (!l.tls) continue;
    for (const c of l.tls.certificates) certs.push({ who: l.url, kind: 'server', subject: c.subject, notAfter: c.notAfter, daysLeft: c.daysLeft });
    for (const c of l.tls.trustedCas) certs.push({ who: l.url, kind: 'CA', subject: c.subject, notAfter: c.notAfter, daysLeft: c.daysLeft });
  }
  for (const c of clients.clients) {
    const cert = c.tls && c.tls.certificate;
    if (cert) certs.push({ who: c.clientId, kind: 'device', subject: cert.subject, notAfter: cert.notAfter, daysLeft: cert.daysLeft });
  }
  certs.sort((a, b) => a.daysLeft - b.daysLeft);
  fill($('certs'), ['days left', 'kind', 'where', 'subject', 'not after'], certs.map((c) => (row) => {
    row.dataset.subject = c.subject;
    cell(row, c.daysLeft, ageClass(c.daysLeft)); cell(row, c.kind); cell(row, c.who); cell(row, c.subject); cell(row, c.notAfter);
  }));

  fill($('clientTable'), ['client id', 'user', 'listener', 'address', 'MQTT', 'TLS', 'certificate days left', 'subscriptions', 'queued', 'in flight', ''],
    clients.clients.map((c) => (row) => {
      row.dataset.clientId = c.clientId;
      cell(row, c.clientId); cell(row, c.username); cell(row, c.listener); cell(row, c.address); cell(row, c.protocolVersion);
      cell(row, c.tls ? c.tls.version : 'none');
      const days = c.tls && c.tls.certificate ? c.tls.certificate.daysLeft : null;
      cell(row, days, days === null ? '' : 'days ' + ageClass(days));
      cell(row, c.subscriptions); cell(row, c.queued); cell(row, c.inFlight);
      const button = document.createElement('button');
      button.textContent = 'disconnect';
      button.addEventListener('click', async () => {
        await api('/api/clients/' + encodeURIComponent(c.clientId), { method: 'DELETE' });
        refresh();
      });
      cell(row, '').appendChild(button);
    }));
  $('clientCount').textContent = clients.total;

  fill($('listenerTable'), ['listener', 'connections', 'client certificates', 'OCSP', 'last reload'], listeners.listeners.map((l) => (row) => {
    cell(row, l.url); cell(row, l.connections);
    cell(row, l.tls ? l.tls.clientCertificates : '-'); cell(row, l.tls ? l.tls.ocsp : '-');
    cell(row, l.tls && l.tls.lastReload ? l.tls.lastReload.at + (l.tls.lastReload.ok ? ' ok' : ' failed') : '-');
  }));
  $('updated').textContent = new Date(now).toLocaleTimeString();
}

$('search').addEventListener('input', () => refresh().catch(() => undefined));
refresh().catch(() => undefined);
setInterval(() => refresh().catch(() => undefined), 2000);
`;

const STYLE = `
body { font: 14px system-ui, sans-serif; margin: 0; color: #222; background: #f7f7f5; }
header { background: #1a202c; color: #fff; padding: 8px 16px; display: flex; gap: 16px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
main, form { padding: 8px 16px; }
section { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; margin: 12px 0; }
h2 { font-size: 16px; margin: 4px 0 8px; }
h3 { font-size: 14px; margin: 8px 0 4px; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; }
.tile { border: 1px solid #e2e8f0; border-radius: 6px; padding: 6px 10px; min-width: 110px; }
.tile b { display: block; font-size: 20px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; }
.red { background: #fed7d7; color: #822727; font-weight: bold; }
.amber { background: #feebc8; color: #7b341e; }
.ok { color: #276749; }
`;

const BODY = `
<header><h1>warden</h1><span>updated <span id="updated">-</span></span></header>
<form id="login" hidden><label>Admin token <input id="token" type="password" autocomplete="off"></label> <button>Use</button></form>
<main id="main" hidden>
<section id="overview"><h2>Overview</h2>
<div class="tiles">
<div class="tile">connections<b id="connections">-</b></div>
<div class="tile">sessions<b id="sessions">-</b></div>
<div class="tile">messages in /s<b id="rateIn">-</b></div>
<div class="tile">messages out /s<b id="rateOut">-</b></div>
<div class="tile">dropped /s<b id="rateDropped">-</b></div>
</div>
<canvas id="rates" width="640" height="140" aria-label="message rates"></canvas>
<h3>TLS handshake failures</h3><table id="handshakes"></table>
<h3>Login failures</h3><table id="logins"></table>
</section>
<section id="certificates"><h2>Certificates, soonest to expire first</h2><table id="certs"></table></section>
<section id="clients"><h2>Clients (<span id="clientCount">0</span>)</h2>
<input id="search" placeholder="client id starts with" aria-label="search clients"><table id="clientTable"></table></section>
<section id="listeners"><h2>Listeners</h2><table id="listenerTable"></table></section>
</main>
`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>warden</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>${BODY}<script>${SCRIPT}</script></body></html>
`;

const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Only this page's own script and style run; it talks to its own origin only. */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  `script-src ${hash(SCRIPT)}`,
  `style-src ${hash(STYLE)}`,
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');
