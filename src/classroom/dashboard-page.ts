// The teacher's dashboard: plain HTML, CSS and browser JavaScript served by the class server. Every value
// that came from a learner is put into the page with textContent, so a name is always text, never markup.

/** The page. Scripts and styles are separate files so the page's Content-Security-Policy can forbid inline code. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>websocket-workshop · class</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>websocket-workshop · class</h1>
  <span id="status" class="status">connecting…</span>
  <a id="export" href="#" download="class-progress.csv">Export CSV</a>
</header>
<main>
  <section>
    <h2>Lessons</h2>
    <table id="lessons">
      <thead><tr><th>Lesson</th><th class="num">Passed</th><th class="num">Trying</th><th class="num">Stuck</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Learners <span id="count"></span></h2>
    <table id="learners">
      <thead><tr><th>Name</th><th>Current lesson</th><th class="num">Done</th><th>Last verdict</th><th>Failure code</th><th>At</th><th>Stuck</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="empty">No learner has joined yet.</p>
  </section>
</main>
</body>
</html>
`;

/** The page's style. */
export const DASHBOARD_CSS = `
body { font: 15px/1.4 system-ui, sans-serif; margin: 0; color: #1d2329; background: #f6f7f9; }
header { display: flex; gap: 1rem; align-items: center; padding: .8rem 1.5rem; background: #1d2329; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; flex: 1; }
header a { color: #9fd3ff; }
.status { font-size: .85rem; padding: .15rem .6rem; border-radius: 1rem; background: #555; }
.status.live { background: #1f7a3a; }
main { padding: 1rem 1.5rem; display: grid; gap: 1.5rem; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
table { border-collapse: collapse; width: 100%; background: #fff; box-shadow: 0 1px 2px #0002; }
th, td { text-align: left; padding: .4rem .7rem; border-bottom: 1px solid #e3e6ea; }
th { background: #eef1f4; font-weight: 600; font-size: .85rem; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
td { white-space: nowrap; }
td.name { white-space: normal; overflow-wrap: anywhere; }
#lessons { max-width: 40rem; }
.pass { color: #1f7a3a; font-weight: 600; }
.fail { color: #b3261e; font-weight: 600; }
.code { font-family: ui-monospace, monospace; font-size: .85rem; }
tr.stuck { background: #fff4e5; }
.stuck-mark { color: #a15c00; font-weight: 600; }
#empty { color: #666; }
`;

/** The page's script: a live WebSocket feed of the class, reconnecting when it drops. */
export const DASHBOARD_JS = `'use strict';
(() => {
  const code = new URLSearchParams(location.search).get('code') || '';
  const learners = new Map();
  let lessons = [];
  let summary = [];
  const status = document.getElementById('status');
  document.getElementById('export').href = '/export.csv?code=' + encodeURIComponent(code);

  // Every learner-supplied value goes through here: textContent, never innerHTML.
  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  const STUCK = { 'repeated-failure': 'stuck: same failure 3 times', 'no-pass': 'stuck: no pass for a while' };

  function renderLearners() {
    const body = document.querySelector('#learners tbody');
    const rows = [];
    for (const l of learners.values()) {
      const tr = document.createElement('tr');
      tr.dataset.id = l.id;
      if (l.stuck) tr.className = 'stuck';
      cell(tr, l.name, 'name');
      cell(tr, l.currentLesson || '—');
      cell(tr, l.lessonsDone.length + ' / ' + lessons.length, 'num');
      cell(tr, l.last ? (l.last.passed ? 'pass' : 'fail') : '—', l.last ? (l.last.passed ? 'pass' : 'fail') : '');
      cell(tr, l.last && l.last.failureCode ? l.last.failureCode : '', 'code');
      cell(tr, l.last ? new Date(l.last.at).toLocaleTimeString() : '');
      cell(tr, l.stuck ? STUCK[l.stuck] || 'stuck' : '', 'stuck-mark');
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    document.getElementById('count').textContent = '(' + learners.size + ')';
    document.getElementById('empty').hidden = learners.size > 0;
  }

  function renderSummary() {
    const body = document.querySelector('#lessons tbody');
    body.replaceChildren(...summary.map((s) => {
      const tr = document.createElement('tr');
      cell(tr, s.lesson);
      cell(tr, s.passed, 'num');
      cell(tr, s.trying, 'num');
      cell(tr, s.stuck, 'num' + (s.stuck ? ' stuck-mark' : ''));
      return tr;
    }));
  }

  // Many reports can arrive in one burst: draw once per frame, not once per message.
  let pending = false;
  function render() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; renderLearners(); renderSummary(); });
  }

  let delay = 500;
  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/feed?code=' + encodeURIComponent(code));
    ws.onopen = () => { delay = 500; status.textContent = 'live'; status.className = 'status live'; };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'snapshot') { learners.clear(); lessons = message.lessons; }
      for (const l of message.learners || []) learners.set(l.id, l);
      if (message.summary) summary = message.summary;
      render();
    };
    ws.onclose = () => {
      status.textContent = code ? 'reconnecting…' : 'no class code in the address';
      status.className = 'status';
      // A new snapshot on reconnection makes up for anything missed meanwhile.
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 10000);
    };
  }
  connect();
})();
`;
