// The audit log's live tail: while "Live" is ticked, asks every 3 seconds for the events newer than
// those shown (with the page's filters) and puts them on top of the table. The page works without
// this script; it only adds the updates.
//
// An id is drawn when an event is inserted and seen when its transaction commits, so an event may
// become visible just after a newer one. Each poll therefore asks again from the newest id known
// before the previous poll (one poll of grace), and skips the rows it already shows.
(function () {
  "use strict";
  var table = document.getElementById("audit-events");
  var toggle = document.getElementById("audit-live");
  var label = document.getElementById("audit-live-toggle");
  if (!table || !toggle || !label || table.dataset.live !== "true") return;
  var body = table.tBodies[0];
  var note = document.getElementById("audit-live-note");
  var empty = document.getElementById("audit-empty");
  var older = document.getElementById("audit-older");
  var newest = Number(table.dataset.after || "0"); // the newest id shown
  var from = newest; // what the next poll asks after
  var query = table.dataset.query || "";
  var maxRows = 500;
  var every = 3000;
  var timer = null;
  var busy = false;
  label.hidden = false;

  function say(text) {
    if (note) note.textContent = text;
  }

  function cell(tr, child) {
    var td = document.createElement("td");
    if (child) td.appendChild(child);
    tr.appendChild(td);
    return td;
  }

  function text(s, tag, cls) {
    var el = document.createElement(tag || "span");
    el.textContent = s;
    if (cls) el.className = cls;
    return el;
  }

  // A row as the page renders it (template "auditrow").
  function row(e) {
    var tr = document.createElement("tr");
    tr.dataset.id = String(e.id);
    tr.className = "audit-new";
    var link = document.createElement("a");
    link.href = "/admin/audit/" + e.id;
    var time = text(e.time.slice(0, 19).replace("T", " ") + " UTC", "time");
    time.setAttribute("datetime", e.time);
    link.appendChild(time);
    cell(tr, link);
    cell(tr, document.createTextNode(e.actorEmail || e.actorId)).title = e.actorId;
    cell(tr, text(e.action, "code"));
    var res = cell(tr, document.createTextNode(e.resourceType));
    if (e.resourceId) {
      res.appendChild(document.createTextNode(" "));
      res.appendChild(text(e.resourceId, "span", "muted"));
    }
    cell(tr, document.createTextNode(e.ip));
    return tr;
  }

  // Keeps the table at maxRows, the Older link pointing below the last row left.
  function trim() {
    var rows = body.rows;
    if (rows.length <= maxRows) return;
    while (rows.length > maxRows) body.removeChild(rows[rows.length - 1]);
    if (older) {
      var url = new URL(older.getAttribute("href") || "/admin/audit?" + query, location.href);
      url.searchParams.set("before", rows[rows.length - 1].dataset.id);
      older.href = url.pathname + url.search;
      older.hidden = false;
    }
  }

  function poll() {
    if (busy || !toggle.checked || document.hidden) return;
    busy = true;
    var url = "/api/admin/audit?after=" + from + (query ? "&" + query : "");
    var before = newest;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) throw new Error("status " + r.status);
        return r.json();
      })
      .then(function (data) {
        var events = data.events || [];
        // Newest first: put the oldest on top first, so the newest ends on top.
        for (var i = events.length - 1; i >= 0; i--) {
          var e = events[i];
          if (e.id > newest) newest = e.id;
          if (body.querySelector('tr[data-id="' + e.id + '"]')) continue;
          body.insertBefore(row(e), body.firstChild);
        }
        // A full batch means more are waiting: go on from its newest, without the grace.
        from = data.more ? newest : before;
        if (events.length && empty) empty.hidden = true;
        trim();
        say("Following live…");
      })
      .catch(function () {
        say("Cannot reach the server; trying again…");
      })
      .then(function () {
        busy = false;
      });
  }

  function start() {
    if (timer === null) timer = setInterval(poll, every);
    say("Following live…");
  }

  function stop() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    say("");
  }

  toggle.addEventListener("change", function () {
    if (toggle.checked) {
      start();
      poll();
    } else {
      stop();
    }
  });
  if (toggle.checked) start();
})();
