// Lint while editing: a moment after the last change, the modeler's diagram goes to the studio's lint endpoint
// (bpmnlint's rules and the project's lane checks, run on the server) and each finding is listed and shown as a
// badge on its element. Findings are advice; the deploy validation decides what deploys.
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script.dataset.url;
  var M = JSON.parse(document.getElementById("studio-lint-messages").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var listEl = document.getElementById("studio-lint");
  var summaryEl = document.getElementById("studio-lint-summary");
  var timer = null, seq = 0, marked = [];

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function show(modeler, issues) {
    var overlays = modeler.get("overlays"), canvas = modeler.get("canvas"), registry = modeler.get("elementRegistry");
    overlays.remove({ type: "studio-lint" });
    marked.forEach(function (id) { canvas.removeMarker(id, "studio-lint"); });
    marked = [];
    listEl.innerHTML = "";
    summaryEl.textContent = issues.length ? fmt(M.lintCount, { n: issues.length }) : M.lintNone;
    var perElement = {};
    issues.forEach(function (issue) {
      var item = document.createElement("li");
      item.className = "studio-lint-item " + issue.category;
      item.dataset.element = issue.element;
      item.dataset.rule = issue.rule;
      item.textContent = (issue.element ? issue.element + ": " : "") + issue.message + " (" + (M[issue.category] || issue.category) + ", " + issue.rule + ")";
      var element = issue.element && registry.get(issue.element);
      if (element) {
        (perElement[element.id] = perElement[element.id] || []).push(issue);
        item.tabIndex = 0;
        item.addEventListener("click", function () {
          modeler.get("selection").select(element);
          canvas.scrollToElement(element);
        });
      }
      listEl.appendChild(item);
    });
    Object.keys(perElement).forEach(function (id) {
      var found = perElement[id], error = found.some(function (i) { return i.category === "error"; });
      var badge = document.createElement("span");
      badge.className = "studio-lint-badge" + (error ? " error" : "");
      badge.textContent = found.length;
      badge.title = found.map(function (i) { return i.message; }).join("\n");
      overlays.add(id, "studio-lint", { position: { bottom: 10, left: -10 }, html: badge });
      canvas.addMarker(id, "studio-lint");
      marked.push(id);
    });
  }

  function lint(modeler) {
    var mine = ++seq;
    return modeler.saveXML({ format: false }).then(function (result) {
      return fetch(url, { method: "POST", credentials: "same-origin",
                          headers: { "X-CSRFToken": csrf, "Content-Type": "application/json", "Accept": "application/json" },
                          body: JSON.stringify({ xml: result.xml }) });
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (answer) {
      if (mine !== seq) { return; }  // a newer change asked again
      if (!answer.ok) { summaryEl.textContent = fmt(M.lintFailed, { error: answer.data.error || "" }); return; }
      show(modeler, answer.data.issues);
    }).catch(function (error) { summaryEl.textContent = fmt(M.lintFailed, { error: error.message }); });
  }

  function schedule(modeler) {
    clearTimeout(timer);
    timer = setTimeout(function () { lint(modeler); }, 600);
  }

  function attach() {
    var modeler = window.studioModeler;
    if (!modeler) { setTimeout(attach, 100); return; }
    modeler.on("import.done", function () { schedule(modeler); });
    modeler.on("commandStack.changed", function () { schedule(modeler); });
    if (modeler.getDefinitions()) { schedule(modeler); }
    window.studioLint = function () { return lint(modeler); };  // for tests and the console
  }

  attach();
})();
