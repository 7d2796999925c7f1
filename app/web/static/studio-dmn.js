// The decision tables of a process in dmn-js's modeler: each opens in its decision table view and is saved as
// a draft of the process; the scenario panel runs the scenarios against the tables as edited, and "save and
// deploy" saves the changed tables and the edited scenarios, then deploys (the deploy runs the scenarios first).
(function () {
  "use strict";
  var tables = JSON.parse(document.getElementById("dmn-tables").textContent);
  var config = JSON.parse(document.getElementById("dmn-config").textContent);
  var M = config.messages;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var modelers = {}, baseline = {};
  window.studioDecisions = modelers;  // for tests and the browser console

  function openTable(modeler) {
    var view = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return view ? modeler.open(view) : null;
  }

  function xmlOf(file) {
    return modelers[file].saveXML({ format: true }).then(function (result) { return result.xml; });
  }

  function call(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin", body: JSON.stringify(body),
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf }
    }).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        throw new Error(response.status === 400 ? M.expired : M.failed.replace("{status}", response.status));
      }
      return response.json().then(function (data) { return { ok: response.ok, status: response.status, data: data }; });
    });
  }

  function saveTable(file) {
    return xmlOf(file).then(function (xml) {
      return call("PUT", config.urls[file], { xml: xml }).then(function (result) {
        if (!result.ok) { throw new Error(result.data.error || M.failed.replace("{status}", result.status)); }
        baseline[file] = xml;
        return result;
      });
    });
  }

  document.querySelectorAll(".dmn-canvas").forEach(function (container) {
    var file = container.dataset.file;
    var modeler = new DmnJS({ container: container });
    modelers[file] = modeler;
    modeler.importXML(tables[file]).then(function () { return openTable(modeler); })
      .then(function () { return xmlOf(file); })
      .then(function (xml) { baseline[file] = xml; })
      .catch(function (error) { container.textContent = error.message; });
  });

  document.querySelectorAll(".dmn-save").forEach(function (button) {
    var file = button.dataset.file;
    var status = button.parentNode.querySelector(".dmn-status");
    button.addEventListener("click", function () {
      button.disabled = true;
      saveTable(file).then(function () {
        status.textContent = M.saved;
        status.className = "dmn-status ok";
      }).catch(function (error) {
        status.textContent = error.message;
        status.className = "dmn-status bad";
      }).then(function () { button.disabled = false; });
    });
  });

  // the scenarios run against every table as it is in the editors now (saved or not)
  if (window.studioScenarios) {
    window.studioScenarios.source = function () {
      var files = Object.keys(modelers);
      return Promise.all(files.map(xmlOf)).then(function (texts) {
        var edited = {};
        files.forEach(function (file, i) { edited[file] = texts[i]; });
        return { tables: edited };
      });
    };
  }

  var deployButton = document.getElementById("dmn-deploy");
  var deployStatus = document.getElementById("dmn-deploy-status");
  var problemsEl = document.getElementById("dmn-problems");

  function say(text, kind) {
    deployStatus.textContent = text;
    deployStatus.className = "studio-status" + (kind ? " " + kind : "");
  }

  function showProblems(problems) {
    problemsEl.innerHTML = "";
    problems.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "scenario-result fail";
      item.textContent = M.problemAt.replace("{element}", p.element || p.file).replace("{field}", p.field || "-")
        .replace("{message}", p.message);
      problemsEl.appendChild(item);
    });
  }

  function deploy() {
    var comment = document.getElementById("dmn-comment");
    if (!comment.value.trim()) { say(M.noComment, "bad"); comment.focus(); return Promise.resolve(); }
    var files = Object.keys(modelers);
    return Promise.all(files.map(xmlOf)).then(function (texts) {
      var changed = files.filter(function (file, i) { return texts[i] !== baseline[file]; });
      return Promise.all(changed.map(saveTable));
    }).then(function () {
      return window.studioScenarios ? window.studioScenarios.save() : null;
    }).then(function () {
      return call("POST", config.deploy, { comment: comment.value.trim() });
    }).then(function (result) {
      showProblems((result.data && result.data.problems) || []);
      if (!result.ok) { throw new Error(result.data.error || M.failed.replace("{status}", result.status)); }
      comment.value = "";
      document.querySelectorAll(".dmn-table .badge").forEach(function (badge) { badge.hidden = true; });
      say(M.deployed.replace("{version}", result.data.version), "ok");
    });
  }

  deployButton.addEventListener("click", function () {
    deployButton.disabled = true;
    deploy().catch(function (error) { say(error.message, "bad"); }).then(function () { deployButton.disabled = false; });
  });
})();
