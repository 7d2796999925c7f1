// The decision tables of a process version, each shown with dmn-js's viewer (read only).
(function () {
  "use strict";
  var tables = JSON.parse(document.getElementById("dmn-tables").textContent);
  document.querySelectorAll(".dmn-canvas").forEach(function (container) {
    var viewer = new DmnJS({ container: container });
    viewer.importXML(tables[container.dataset.file]).catch(function (error) {
      container.textContent = error.message;
    });
  });
})();
