/* inloop dashboard: live rows and tab counts over server-sent events, and the keyboard
   (j/k or arrows move, Enter opens, / searches). The page works without it. */
(function () {
  "use strict";

  var MAX_DELAY = 30000;  // the longest wait before reconnecting to a refusing server
  var PAUSE = 250;

  function plural(n) { return n + (n === 1 ? " task" : " tasks"); }

  function selectedId(body) {
    var row = body.querySelector("tr.selected");
    return row ? row.dataset.taskId : null;
  }

  function select(body, row, focus) {
    body.querySelectorAll("tr.selected").forEach(function (r) { r.classList.remove("selected"); });
    if (!row) { return; }
    row.classList.add("selected");
    if (focus) { row.querySelector("a").focus(); }
  }

  function show(table, data) {
    var body = table.querySelector("tbody");
    var keep = selectedId(body);
    var focused = body.contains(document.activeElement);
    body.innerHTML = data.rows_html;  // rendered and escaped by the server's template
    var again = keep && body.querySelector("tr[data-task-id='" + CSS.escape(keep) + "']");
    select(body, again, focused && again);
    document.getElementById("task-count").textContent = plural(data.tasks.length);
    document.getElementById("task-table").hidden = data.tasks.length === 0;
    document.getElementById("empty-state").hidden = data.tasks.length !== 0;
    Object.keys(data.counts).forEach(function (tab) {
      var badge = document.querySelector("[data-count='" + tab + "']");
      if (badge) { badge.textContent = data.counts[tab]; }
    });
  }

  /* One fetch at a time, at most one per PAUSE ms: changes meanwhile make one more fetch
     after it, so a busy org costs an open page a few reads a second at most. */
  function refresher(table) {
    var busy = false, again = false;
    var run = function () {
      if (busy) { again = true; return; }
      busy = true;
      fetch(table.dataset.source, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) { if (data) { show(table, data); } })
        .catch(function () { /* offline for a moment: the next event reads again */ })
        .finally(function () {
          window.setTimeout(function () {
            busy = false;
            if (again) { again = false; run(); }
          }, PAUSE);
        });
    };
    return run;
  }

  function live(refresh) {
    var status = document.getElementById("live");
    var delay = 1000;
    var state = function (on) {
      status.dataset.state = on ? "live" : "off";
      status.textContent = on ? "Live" : "Reconnecting…";
    };
    var connect = function () {
      var source = new EventSource("/dashboard/events");
      source.addEventListener("ready", function () { delay = 1000; state(true); refresh(); });
      source.addEventListener("changed", refresh);
      source.onerror = function () {
        state(false);
        if (source.readyState === EventSource.CLOSED) {  // refused: retry, more slowly each time
          window.setTimeout(connect, delay);
          delay = Math.min(delay * 2, MAX_DELAY);
        }
      };
    };
    connect();
  }

  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  function move(body, step) {
    var rows = Array.prototype.slice.call(body.rows);
    if (!rows.length) { return; }
    var at = rows.indexOf(body.querySelector("tr.selected"));
    var next = at < 0 ? (step > 0 ? 0 : rows.length - 1)
      : Math.max(0, Math.min(rows.length - 1, at + step));
    select(body, rows[next], true);
  }

  function keyboard(table) {
    var body = table.querySelector("tbody");
    var search = document.getElementById("q");
    document.addEventListener("keydown", function (event) {
      if (event.ctrlKey || event.metaKey || event.altKey) { return; }
      if (typing(event.target)) {
        if (event.key === "Escape") { event.target.blur(); }
        return;
      }
      var inTable = body.contains(event.target);
      var step = { j: 1, k: -1 }[event.key] ||
        (inTable ? { ArrowDown: 1, ArrowUp: -1 }[event.key] : 0);
      if (event.key === "/") {
        event.preventDefault();
        search.focus();
        search.select();
      } else if (step) {
        event.preventDefault();
        move(body, step);
      } else if (event.key === "Enter" && event.target === document.body) {
        var row = body.querySelector("tr.selected");
        if (row) { window.location.assign(row.querySelector("a").href); }
      }
    });
    body.addEventListener("focusin", function (event) {
      select(body, event.target.closest("tr"), false);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var table = document.querySelector("table[data-source]");
    if (!table) { return; }
    keyboard(table);
    if (window.EventSource) { live(refresher(table)); }
  });
}());
