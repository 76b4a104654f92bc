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
  <span id="status" class="status" role="status">connecting…</span>
  <a id="export" href="#" download="class-progress.csv">Export CSV</a>
</header>
<p id="notice" hidden></p>
<main>
  <section>
    <h2>Lessons</h2>
    <table id="lessons">
      <thead><tr><th>Lesson</th><th class="num">Passed</th><th class="num">Trying</th><th class="num">Stuck</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section>
    <h2>Common mistakes now</h2>
    <ol id="mistakes"></ol>
    <p id="no-mistakes">No learner is failing right now.</p>
  </section>
  <section>
    <h2>Learners <span id="count"></span></h2>
    <table id="learners">
      <thead><tr><th>Name</th><th>Current lesson</th><th class="num">Done</th><th>Last verdict</th><th>Failure code</th><th>At</th><th>Stuck</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="empty">No learner has joined yet.</p>
    <p class="tip">Click a learner to see their latest verdicts.</p>
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
.status.stale { background: #a15c00; }
.status.refused { background: #b3261e; }
#notice { margin: 0; padding: .7rem 1.5rem; background: #fde7e4; color: #7a1c14; font-weight: 600; }
body.stale main { opacity: .55; }
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
#empty, .tip { color: #666; }
.tip { font-size: .85rem; }
#learners tbody tr[data-id] { cursor: pointer; }
#learners tbody tr[data-id]:hover, #learners tbody tr[aria-expanded="true"] { background: #eef5ff; }
tr.detail td { background: #fafbfc; white-space: normal; }
tr.detail table { box-shadow: none; margin: .3rem 0; }
#mistakes { margin: 0; padding-left: 1.4rem; display: grid; gap: .6rem; max-width: 60rem; }
#mistakes li { background: #fff; padding: .5rem .8rem; box-shadow: 0 1px 2px #0002; }
#mistakes p { margin: .2rem 0; }
.meaning { font-weight: 600; }
.hint { color: #333; }
.who { color: #555; font-size: .85rem; }
#no-mistakes { color: #666; }
`;

/** The page's script: a live WebSocket feed of the class, reconnecting when it drops. */
export const DASHBOARD_JS = `'use strict';
(() => {
  // The teacher key, from the address the class server printed.
  const key = new URLSearchParams(location.search).get('key') || '';
  const learners = new Map();
  let lessons = [];
  let guide = {};
  // The learner whose latest verdicts are shown under their row, and those verdicts.
  let openId = null;
  let openRecent = null;
  let summary = [];
  const status = document.getElementById('status');
  document.getElementById('export').href = '/export.csv?key=' + encodeURIComponent(key);

  // Every learner-supplied value goes through here: textContent, never innerHTML.
  function cell(row, text, className) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  const STUCK = { 'repeated-failure': 'stuck: same failure 3 times', 'no-pass': 'stuck: no pass for a while' };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function meaningOf(lesson, code) {
    const entry = guide[lesson + ' ' + code];
    return entry ? entry.meaning : '';
  }

  function detailRow() {
    const tr = el('tr', null, 'detail');
    const td = el('td');
    td.colSpan = 7;
    tr.appendChild(td);
    if (!openRecent) { td.textContent = 'Loading…'; return tr; }
    if (!openRecent.length) { td.textContent = 'No verdict yet.'; return tr; }
    const table = el('table');
    const head = el('tr');
    for (const h of ['Lesson', 'Result', 'Failure code', 'What it means', 'At']) head.appendChild(el('th', h));
    table.appendChild(head);
    for (const r of openRecent) {
      const row = el('tr');
      cell(row, r.lesson);
      cell(row, r.passed ? 'pass' : 'fail', r.passed ? 'pass' : 'fail');
      cell(row, r.failureCode || '', 'code');
      cell(row, r.failureCode ? meaningOf(r.lesson, r.failureCode) : '');
      cell(row, new Date(r.at).toLocaleTimeString());
      table.appendChild(row);
    }
    td.appendChild(table);
    return tr;
  }

  function loadRecent(id) {
    fetch('/learner?key=' + encodeURIComponent(key) + '&id=' + encodeURIComponent(id), { cache: 'no-store' })
      .then((r) => (r.ok ? r.json() : { recent: [] }))
      .then((body) => { if (openId === id) { openRecent = body.recent; render(); } }, () => {});
  }

  function toggle(id) {
    openId = openId === id ? null : id;
    openRecent = null;
    if (openId) loadRecent(openId);
    render();
  }

  function renderLearners() {
    const body = document.querySelector('#learners tbody');
    const rows = [];
    for (const l of learners.values()) {
      const tr = document.createElement('tr');
      tr.dataset.id = l.id;
      if (l.stuck) tr.className = 'stuck';
      tr.setAttribute('aria-expanded', String(openId === l.id));
      tr.tabIndex = 0;
      tr.addEventListener('click', () => toggle(l.id));
      tr.addEventListener('keydown', (event) => { if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); toggle(l.id); } });
      cell(tr, l.label || l.name, 'name');
      cell(tr, l.currentLesson || '—');
      cell(tr, l.lessonsDone.length + ' / ' + lessons.length, 'num');
      cell(tr, l.last ? (l.last.passed ? 'pass' : 'fail') : '—', l.last ? (l.last.passed ? 'pass' : 'fail') : '');
      cell(tr, l.last && l.last.failureCode ? l.last.failureCode : '', 'code');
      cell(tr, l.last ? new Date(l.last.at).toLocaleTimeString() : '');
      cell(tr, l.stuck ? STUCK[l.stuck] || 'stuck' : '', 'stuck-mark');
      rows.push(tr);
      if (openId === l.id) rows.push(detailRow());
    }
    body.replaceChildren(...rows);
    document.getElementById('count').textContent = '(' + learners.size + ')';
    document.getElementById('empty').hidden = learners.size > 0;
  }

  // The failure codes learners are failing on right now (their latest verdict), most learners first:
  // one thing the teacher can explain to the whole room.
  function renderMistakes() {
    const groups = new Map();
    for (const l of learners.values()) {
      if (!l.last || l.last.passed || !l.last.failureCode) continue;
      const id = l.last.lesson + ' ' + l.last.failureCode;
      if (!groups.has(id)) groups.set(id, { lesson: l.last.lesson, code: l.last.failureCode, who: [] });
      groups.get(id).who.push(l.label || l.name);
    }
    const top = [...groups.values()].sort((a, b) => b.who.length - a.who.length || a.code.localeCompare(b.code)).slice(0, 5);
    document.getElementById('mistakes').replaceChildren(...top.map((g) => {
      const li = el('li');
      li.dataset.code = g.code;
      const title = el('p');
      title.append(el('span', g.code, 'code'), ' in ' + g.lesson + ' · ' + g.who.length + (g.who.length === 1 ? ' learner' : ' learners'));
      li.appendChild(title);
      const entry = guide[g.lesson + ' ' + g.code];
      if (entry) li.appendChild(el('p', entry.meaning, 'meaning'));
      if (entry && entry.hint) li.appendChild(el('p', 'Hint ' + entry.hint.number + ': ' + entry.hint.text, 'hint'));
      li.appendChild(el('p', g.who.join(', '), 'who'));
      return li;
    }));
    document.getElementById('no-mistakes').hidden = top.length > 0;
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
    requestAnimationFrame(() => { pending = false; renderLearners(); renderMistakes(); renderSummary(); });
  }

  const notice = document.getElementById('notice');
  function show(text, state) {
    status.textContent = text;
    status.className = 'status' + (state ? ' ' + state : '');
    document.body.classList.toggle('stale', state !== 'live');
  }
  function clock(time) {
    return new Date(time).toLocaleTimeString();
  }

  // When the feed drops, the page keeps what it last knew but says how old it is, and asks the server
  // why before trying again: down (try again, slower and slower), or up but no longer opened by this key.
  let delay = 500;
  let lastUpdate = 0;
  function connect() {
    if (!key) { show('no teacher key in the address', 'refused'); return; }
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/feed?key=' + encodeURIComponent(key));
    ws.onopen = () => { delay = 500; notice.hidden = true; };
    ws.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === 'snapshot') { learners.clear(); lessons = message.lessons; guide = message.guide || {}; }
      for (const l of message.learners || []) {
        learners.set(l.id, l);
        // A new verdict from the learner being looked at: fetch their list again.
        if (l.id === openId && message.reportId) loadRecent(l.id);
      }
      if (message.summary) summary = message.summary;
      lastUpdate = Date.now();
      show('live', 'live');
      render();
    };
    ws.onclose = () => {
      const since = lastUpdate ? 'disconnected: showing the class as of ' + clock(lastUpdate) : 'not connected';
      show(since + ', reconnecting…', 'stale');
      fetch('/class?key=' + encodeURIComponent(key), { cache: 'no-store' }).then((response) => {
        if (response.status === 401 || response.status === 403) {
          show('key refused', 'refused');
          notice.textContent = 'This address no longer opens the class: its teacher key does not match the class server now running there (a new class was started, or the address was mistyped). Open the dashboard address the classroom command printed.';
          notice.hidden = false;
          return;
        }
        if (response.status === 429) {
          notice.textContent = 'The class server refuses this machine for a minute after too many wrong keys; this page tries again by itself.';
          notice.hidden = false;
        }
        retry();
      }, retry);
    };
  }
  // A new snapshot on reconnection makes up for anything missed meanwhile.
  function retry() {
    setTimeout(connect, delay);
    delay = Math.min(delay * 2, 10000);
  }
  connect();
})();
`;
