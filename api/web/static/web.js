/* inloop dashboard: live rows and tab counts over server-sent events, and the keyboard
   (j/k or arrows move, Enter opens, / searches); a task page follows its own task. The
   pages work without it. */
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

  /* One read at a time, at most one per PAUSE ms: changes meanwhile make one more read
     after it, so a busy org costs an open page a few reads a second at most. `read`
     returns a promise. */
  function singleFlight(read) {
    var busy = false, again = false;
    var run = function () {
      if (busy) { again = true; return; }
      busy = true;
      read()
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

  function fetched(url, as) {
    return fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response[as]() : null; });
  }

  function listRefresh(table) {
    return function () {
      return fetched(table.dataset.source, "json")
        .then(function (data) { if (data) { show(table, data); } });
    };
  }

  /* The task page again, its [data-live] parts swapped in: never the form a member may
     be filling in (or reading their "Thank you" in). */
  function taskRefresh() {
    return fetched(window.location.href, "text").then(function (html) {
      if (!html) { return; }
      var fresh = new DOMParser().parseFromString(html, "text/html");
      document.querySelectorAll("[data-live]").forEach(function (part) {
        var next = fresh.getElementById(part.id);
        if (next) { part.replaceWith(document.importNode(next, true)); }
      });
    });
  }

  function live(refresh, url) {
    var status = document.getElementById("live");
    var delay = 1000;
    var state = function (on) {
      status.dataset.state = on ? "live" : "off";
      status.textContent = on ? "Live" : "Reconnecting…";
    };
    var connect = function () {
      var source = new EventSource(url);
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
    var task = document.getElementById("task-head");
    if (table) { keyboard(table); }
    if (!window.EventSource) { return; }
    if (table) { live(singleFlight(listRefresh(table)), "/dashboard/events"); }
    if (task) { live(singleFlight(taskRefresh), task.dataset.events); }
  });
}());
