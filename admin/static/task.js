// Follows a running task: appends its events as they come (Server-Sent Events), keeps the summary's
// status, sandbox security and count of blocked actions current, and refreshes the summary when the
// task ends. The page works without this script; it only adds live updates.
(function () {
  "use strict";
  var list = document.getElementById("events");
  var summary = document.getElementById("task-summary");
  if (!list || !summary || list.dataset.live !== "true") return;
  var seen = new Set();
  list.querySelectorAll("li[data-id]").forEach(function (li) { seen.add(li.dataset.id); });
  var url = "/tasks/" + summary.dataset.task + "/events?after=" + (list.dataset.after || "0");
  var note = document.getElementById("live-note");
  var source = new EventSource(url);

  // The count is the log's violation rows, as the server counts them; the words are blockedActions's.
  function countBlocked() {
    var count = document.getElementById("violations");
    if (!count) return;
    var n = list.querySelectorAll("li.event-violation").length;
    count.dataset.count = String(n);
    count.textContent = n === 0 ? "none" : n === 1 ? "1 blocked action" : n + " blocked actions";
  }

  // The summary's preview links: one per port a server listens on in the sandbox now.
  function showPreviews(ports) {
    var dd = document.getElementById("previews");
    if (!dd) return;
    dd.textContent = "";
    if (ports.length === 0) {
      dd.textContent = "none now: a server the agent starts in its sandbox shows here";
      return;
    }
    ports.forEach(function (p) {
      var a = document.createElement("a");
      a.href = dd.dataset.base + String(Number(p)) + "/";
      a.target = "_blank";
      a.rel = "noopener";
      a.textContent = "port " + String(Number(p));
      dd.appendChild(a);
      dd.appendChild(document.createTextNode(" "));
    });
  }

  function atBottom() {
    return window.innerHeight + window.scrollY >= document.body.offsetHeight - 40;
  }

  source.addEventListener("task", function (ev) {
    var m = JSON.parse(ev.data);
    var id = String(m.id);
    if (seen.has(id)) return; // a reconnect may send an event twice; show it once
    seen.add(id);
    var follow = atBottom();
    list.insertAdjacentHTML("beforeend", m.html);
    if (m.status) {
      var badge = summary.querySelector(".status");
      if (badge) {
        badge.dataset.status = m.status;
        badge.className = "status status-" + m.status;
        badge.textContent = m.status;
      }
      summary.dataset.status = m.status;
    }
    if (m.sandbox) {
      var line = document.getElementById("sandbox-security");
      if (line) line.textContent = m.sandbox;
    }
    if (m.type === "violation") countBlocked();
    if (m.ports) showPreviews(m.ports);
    if (follow) window.scrollTo(0, document.body.scrollHeight);
  });

  source.addEventListener("end", function () {
    source.close();
    if (note) note.textContent = "This task has ended.";
    // Refresh the summary (pull request, duration, usage) from the page as it is now.
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("task-summary");
        if (fresh) summary.replaceWith(fresh);
      });
  });

  source.onerror = function () {
    if (note) note.textContent = "Connection lost; reconnecting…";
  };
  source.onopen = function () {
    if (note) note.textContent = "Following live…";
  };
})();
