// The live diagram: a read-only bpmn-js NavigatedViewer. In the studio (data-mode="heatmap") each element
// shows how many open tickets wait there, their average wait and how many are overdue, coloured by heat; on a
// ticket page (data-mode="path") the elements the ticket completed and where it waits now are highlighted.
// Texts come from the page (config.messages); data from the JSON endpoint config.url.
(function () {
  "use strict";
  var canvasEl = document.querySelector("[data-mode]");
  var configEl = document.getElementById("live-config");
  if (!canvasEl || !configEl || !window.BpmnJS) { return; }
  var config = JSON.parse(configEl.textContent);
  var M = config.messages;
  var statusEl = document.getElementById("live-status");

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function say(text) { if (statusEl) { statusEl.textContent = text; } }

  function badge(viewer, id, cls, parts) {
    var html = document.createElement("div");
    html.className = cls;
    parts.forEach(function (part, i) {
      var span = document.createElement("span");
      span.textContent = (i ? " · " : "") + part.text;
      if (part.cls) { span.className = part.cls; }
      html.appendChild(span);
    });
    viewer.get("overlays").add(id, { position: { top: -22, left: 0 }, html: html });
  }

  function known(viewer, id) { return !!viewer.get("elementRegistry").get(id); }

  function heatmap(viewer, data) {
    var canvas = viewer.get("canvas");
    Object.keys(data.elements).forEach(function (id) {
      if (!known(viewer, id)) { return; }
      var e = data.elements[id];
      var level = Math.max(1, Math.ceil(e.heat * 5));
      canvas.addMarker(id, "heat-" + level);
      if (e.overdue) { canvas.addMarker(id, "heat-overdue"); }
      var parts = [{ text: fmt(M.waiting, { n: e.waiting }) }];
      if (e.avg_wait_seconds !== null) { parts.push({ text: fmt(M.average, { minutes: Math.round(e.avg_wait_seconds / 60) }) }); }
      if (e.overdue) { parts.push({ text: fmt(M.overdue, { n: e.overdue }), cls: "overdue" }); }
      badge(viewer, id, "live-badge", parts);
    });
    say(fmt(M.summary, { waiting: data.waiting, overdue: data.overdue, at: new Date(data.at).toLocaleString() }));
  }

  function path(viewer, data) {
    var canvas = viewer.get("canvas");
    Object.keys(data.completed).forEach(function (id) {
      if (!known(viewer, id)) { return; }
      canvas.addMarker(id, "path-done");
      badge(viewer, id, "path-badge", [{ text: fmt(M.done, { n: data.completed[id] }) }]);
    });
    data.current.forEach(function (id) {
      if (!known(viewer, id)) { return; }
      canvas.addMarker(id, "path-current");
      badge(viewer, id, "path-badge current", [{ text: M.here }]);
    });
    say("");
  }

  say(M.loading);
  fetch(config.url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || response.status); }
        return data;
      });
    })
    .then(function (data) {
      if (!data.xml) { say(M.noDiagram); canvasEl.hidden = true; return null; }
      var viewer = new window.BpmnJS({ container: canvasEl });
      return viewer.importXML(data.xml).then(function () {
        viewer.get("canvas").zoom("fit-viewport");
        (canvasEl.dataset.mode === "path" ? path : heatmap)(viewer, data);
        canvasEl.setAttribute("data-ready", "1");
      });
    })
    .catch(function (error) { say(fmt(M.loadFailed, { error: error.message || error })); });
}());
