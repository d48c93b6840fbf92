/* inloop dashboard: refresh the task table from its JSON source every few seconds. */
(function () {
  "use strict";

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function render(body, count, tasks) {
    var rows = document.createDocumentFragment();
    tasks.forEach(function (task) {
      var tr = document.createElement("tr");
      tr.dataset.taskId = task.task_id;
      var link = document.createElement("a");
      link.href = task.href;
      link.textContent = task.title;
      cell(tr, "").appendChild(link);
      [task.status, task.priority, task.assignee, task.tags.join(", "), task.created_at]
        .forEach(function (text) { cell(tr, text); });
      rows.appendChild(tr);
    });
    body.replaceChildren(rows);
    count.textContent = tasks.length + (tasks.length === 1 ? " task" : " tasks");
  }

  function poll(table) {
    var body = table.querySelector("tbody");
    var count = document.getElementById("task-count");
    var seen = "";
    var tick = function () {
      fetch(table.dataset.source, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var key = JSON.stringify(data.tasks);
          if (key !== seen) { seen = key; render(body, count, data.tasks); }
        })
        .catch(function () { /* offline for a moment: try again on the next tick */ })
        .finally(function () { window.setTimeout(tick, 2000); });
    };
    window.setTimeout(tick, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-source]").forEach(poll);
  });
}());
