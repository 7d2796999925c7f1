// The new-ticket form: refuse empty files and files over the limit before anything is sent.
// Limits and messages come from the input's data-* attributes (the server states them in the page's language).
(function () {
  "use strict";
  var input = document.getElementById("f-attachments");
  if (!input) { return; }
  var live = document.getElementById("err-attachments-live");
  var each = Number(input.dataset.maxEach), total = Number(input.dataset.maxTotal);

  function size(bytes) {
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1).replace(/\.0$/, "") + " MB"; }
    if (bytes >= 1024) { return (bytes / 1024).toFixed(1).replace(/\.0$/, "") + " KB"; }
    return bytes + " B";
  }

  function problem() {
    var sum = 0;
    for (var i = 0; i < input.files.length; i++) {
      var file = input.files[i];
      sum += file.size;
      if (file.size === 0) { return input.dataset.msgEmpty.replace("{name}", file.name); }
      if (file.size > each) {
        return input.dataset.msgEach.replace("{name}", file.name).replace("{size}", size(file.size));
      }
    }
    if (sum > total) { return input.dataset.msgTotal.replace("{size}", size(sum)); }
    return "";
  }

  function check() {
    var message = problem();
    input.setCustomValidity(message);
    live.textContent = message;
    live.hidden = !message;
    input.setAttribute("aria-invalid", message ? "true" : "false");
    return !message;
  }

  input.addEventListener("change", check);
  input.form.addEventListener("submit", function (event) {
    if (!check()) { event.preventDefault(); input.focus(); }
  });
}());
