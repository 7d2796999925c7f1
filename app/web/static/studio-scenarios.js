// The scenario panel of the studio (templates/studio/scenarios_panel.html): one editor per scenario file, run
// against what the page is editing (the page sets window.studioScenarios.source to a function giving the diagram
// XML or the decision tables), PASS/FAIL per scenario with the failing step and why, and save as a draft.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("scenarios-config").textContent);
  var M = config.messages;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var filesEl = document.getElementById("scenario-files");
  var resultsEl = document.getElementById("scenario-results");
  var statusEl = document.getElementById("scenarios-status");
  var draftBadge = document.getElementById("scenarios-draft");
  var dirty = false;

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function say(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "scenarios-status" + (kind ? " " + kind : "");
  }

  function call(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        throw new Error(response.status === 400 ? M.expired : fmt(M.failed, { status: response.status }));
      }
      return response.json().then(function (data) {
        if (!response.ok) {
          var fields = Object.keys(data.errors || {}).map(function (k) { return k + ": " + data.errors[k]; });
          throw new Error(fields.length ? fields.join(" ") : (data.error || fmt(M.failed, { status: response.status })));
        }
        return data;
      });
    });
  }

  function texts() {
    var found = {};
    filesEl.querySelectorAll("textarea.scenario-text").forEach(function (area) { found[area.dataset.file] = area.value; });
    return found;
  }

  function watch() {
    filesEl.querySelectorAll("textarea.scenario-text").forEach(function (area) {
      area.addEventListener("input", function () { dirty = true; });
    });
  }

  function show(found, drafted) {
    filesEl.innerHTML = "";
    var names = Object.keys(found || {}).sort();
    if (!names.length) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = M.noFiles;
      filesEl.appendChild(none);
    }
    names.forEach(function (name, index) {
      var box = document.createElement("div"), label = document.createElement("label");
      var code = document.createElement("code"), area = document.createElement("textarea");
      box.className = "scenario-file";
      label.htmlFor = area.id = "scenario-text-" + index;
      code.textContent = name;
      label.appendChild(code);
      area.className = "scenario-text";
      area.dataset.file = name;
      area.rows = 16;
      area.spellcheck = false;
      area.value = found[name];
      box.appendChild(label);
      box.appendChild(area);
      filesEl.appendChild(box);
    });
    draftBadge.hidden = !drafted;
    dirty = false;
    resultsEl.innerHTML = "";
    say("");
    watch();
  }

  function actionOf(label) {  // "step 1 (advance 0:29:00)" -> "advance 0:29:00"
    var found = /^step \d+ \((.*)\)$/.exec(label);
    return found ? found[1] : label;
  }

  function showResults(data) {
    resultsEl.innerHTML = "";
    data.results.forEach(function (r) {
      var item = document.createElement("li"), mark = document.createElement("strong");
      item.className = "scenario-result " + (r.passed ? "pass" : "fail");
      item.dataset.scenario = r.scenario;
      mark.textContent = r.passed ? M.pass : M.fail;
      item.appendChild(mark);
      var text = r.passed ? fmt(M.passed, { scenario: r.scenario, steps: r.steps_run })
        : fmt(M.failedAt, { scenario: r.scenario || r.file,
                            where: r.step_label ? fmt(M.step, { step: r.step, label: actionOf(r.step_label) }) : "",
                            message: r.message });
      item.appendChild(document.createTextNode(" " + text));
      resultsEl.appendChild(item);
    });
    if (data.failed) { say(fmt(M.someFail, { passed: data.passed, failed: data.failed }), "bad"); }
    else { say(fmt(M.allPass, { n: data.passed }), "ok"); }
  }

  function run() {
    say(M.running);
    var source = api.source || function () { return {}; };
    return Promise.resolve(source()).then(function (extra) {
      var body = { scenarios: texts() };
      Object.keys(extra || {}).forEach(function (k) { body[k] = extra[k]; });
      return call("POST", config.urls.run, body);
    }).then(function (data) { showResults(data); return data; });
  }

  function save(force) {
    if (!dirty && !force) { return Promise.resolve(null); }
    return call("PUT", config.urls.save, { scenarios: texts() }).then(function (data) {
      dirty = false;
      draftBadge.hidden = false;
      return data;
    });
  }

  function button(id, action) {
    var el = document.getElementById(id);
    el.addEventListener("click", function () {
      el.disabled = true;
      Promise.resolve().then(action).catch(function (error) { say(error.message, "bad"); })
        .then(function () { el.disabled = false; });
    });
  }

  var api = { texts: texts, show: show, run: run, save: save, source: null,
              isDirty: function () { return dirty; } };
  window.studioScenarios = api;
  watch();
  button("scenarios-run", run);
  button("scenarios-save", function () { return save(true).then(function () { say(M.saved, "ok"); }); });
})();
