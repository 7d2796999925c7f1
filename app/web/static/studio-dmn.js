// The decision tables of a process in dmn-js's modeler: each opens in its decision table view and is saved as
// a draft of the process (the next deploy from the diagram page takes it).
(function () {
  "use strict";
  var tables = JSON.parse(document.getElementById("dmn-tables").textContent);
  var config = JSON.parse(document.getElementById("dmn-config").textContent);
  var M = config.messages;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var modelers = {};
  window.studioDecisions = modelers;  // for tests and the browser console

  function openTable(modeler) {
    var view = modeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
    return view ? modeler.open(view) : null;
  }

  document.querySelectorAll(".dmn-canvas").forEach(function (container) {
    var file = container.dataset.file;
    var modeler = new DmnJS({ container: container });
    modelers[file] = modeler;
    modeler.importXML(tables[file]).then(function () { return openTable(modeler); }).catch(function (error) {
      container.textContent = error.message;
    });
  });

  document.querySelectorAll(".dmn-save").forEach(function (button) {
    var file = button.dataset.file;
    var status = button.parentNode.querySelector(".dmn-status");
    button.addEventListener("click", function () {
      button.disabled = true;
      modelers[file].saveXML({ format: true }).then(function (result) {
        return fetch(config.urls[file], {
          method: "PUT", credentials: "same-origin",
          headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
          body: JSON.stringify({ xml: result.xml })
        });
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (type.indexOf("application/json") < 0) {
          throw new Error(response.status === 400 ? M.expired : M.failed.replace("{status}", response.status));
        }
        return response.json().then(function (data) {
          if (!response.ok) { throw new Error(data.error || M.failed.replace("{status}", response.status)); }
          status.textContent = M.saved;
          status.className = "dmn-status ok";
        });
      }).catch(function (error) {
        status.textContent = error.message;
        status.className = "dmn-status bad";
      }).then(function () { button.disabled = false; });
    });
  });
})();
