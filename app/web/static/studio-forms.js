// The studio's form editor: a form (JSON Schema, forms/*.json) edited field by field or as JSON, a live preview
// rendered by the server with the task page's own field template, draft save, validation with the problems shown
// on their fields, and deploy. All texts come from the page (config.messages).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("form-config").textContent);
  var M = config.messages;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var statusEl = document.getElementById("form-status");
  var fieldsEl = document.getElementById("form-fields");
  var rawEl = document.getElementById("form-json");
  var rawError = document.getElementById("form-json-error");
  var previewEl = document.getElementById("form-preview");
  var problemsEl = document.getElementById("form-problems");
  var tabFields = document.getElementById("tab-fields"), tabRaw = document.getElementById("tab-raw");
  var schema = null, rawValid = true, errors = {}, previewTimer = null, previewSeq = 0, dirty = false;
  var NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function say(text, kind) {
    statusEl.textContent = text || "";
    statusEl.className = "studio-status" + (kind ? " " + kind : "");
  }

  function call(method, url, body) {
    var options = { method: method, credentials: "same-origin",
                    headers: { "X-CSRFToken": csrf, "Accept": "application/json" } };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        return { status: response.status, ok: response.ok, data: {} };
      }
      return response.json().then(function (data) { return { status: response.status, ok: response.ok, data: data }; });
    });
  }

  function errorText(result) {
    if (result.status === 400) { return M.expired; }
    var data = result.data || {};
    var fields = Object.keys(data.errors || {}).map(function (k) { return data.errors[k]; });
    return fields.length ? fields.join(" ") : (data.error || fmt(M.failed, { status: result.status }));
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  // ------------------------------------------------------------------------------------------ the schema

  function text() {
    if (!rawValid) { return rawEl.value; }
    return JSON.stringify(schema, null, 2) + "\n";
  }

  function changed(options) {
    dirty = true;
    if (!(options && options.fromRaw)) {
      rawEl.value = text();
      rawValid = true;
      rawError.textContent = "";
    }
    schedulePreview();
  }

  function properties() {
    if (!schema.properties || typeof schema.properties !== "object") { schema.properties = {}; }
    return schema.properties;
  }

  function requiredList() { return Array.isArray(schema.required) ? schema.required : []; }

  function setRequired(name, on) {
    var list = requiredList().filter(function (n) { return n !== name; });
    if (on) { list.push(name); }
    if (list.length) { schema.required = list; } else { delete schema.required; }
  }

  function rebuild(order, renames) {  // properties in a new order, some renamed (the order is the form's order)
    var old = properties(), fresh = {};
    order.forEach(function (name) { fresh[(renames && renames[name]) || name] = old[name]; });
    schema.properties = fresh;
  }

  function setOrDelete(object, key, value) {
    if (value === "" || value === null || value === undefined) { delete object[key]; } else { object[key] = value; }
  }

  function widgetOf(prop) {
    if (prop["x-widget"] === "textarea") { return "textarea"; }
    if (prop["x-widget"] === "datetime" || prop.format === "date-time") { return "datetime"; }
    if (prop.format === "date") { return "date"; }
    return "";
  }

  function setWidget(prop, widget) {
    delete prop["x-widget"];
    if (prop.format === "date-time" || prop.format === "date") { delete prop.format; }
    if (widget === "textarea") { prop["x-widget"] = "textarea"; }
    if (widget === "datetime") { prop["x-widget"] = "datetime"; prop.format = "date-time"; }
    if (widget === "date") { prop.format = "date"; }
  }

  function choicesOf(prop) {
    if (Array.isArray(prop.oneOf)) { return prop.oneOf; }
    if (Array.isArray(prop.enum)) {  // plain values become titled choices when edited
      prop.oneOf = prop.enum.map(function (v) { return { "const": v, "title": String(v) }; });
      delete prop.enum;
      return prop.oneOf;
    }
    return null;
  }

  // ------------------------------------------------------------------------------------------ field editor

  var uid = 0;

  function input(labelText, value, apply, type, extra) {
    var id = "fe-" + (++uid);
    var control = type === "select" ? el("select", { id: id }) : el("input", { id: id, type: type || "text" });
    if (type === "select") {
      extra.options.forEach(function (o) {
        var option = el("option", { value: o[0], text: o[1] });
        if (String(value) === o[0]) { option.selected = true; }
        control.appendChild(option);
      });
      if (value && extra.options.every(function (o) { return o[0] !== String(value); })) {
        control.appendChild(el("option", { value: value, text: value }));
        control.value = value;
      }
    } else if (type === "checkbox") {
      control.checked = !!value;
    } else {
      control.value = value === undefined || value === null ? "" : value;
    }
    var event = type === "checkbox" || type === "select" || (extra && extra.onChange) ? "change" : "input";
    control.addEventListener(event, function () {
      apply(type === "checkbox" ? control.checked : control.value, control);
    });
    var wrap = el("div", { "class": "fe-item" + (type === "checkbox" ? " fe-check" : "") });
    var label = el("label", { "for": id, text: labelText });
    if (type === "checkbox") { wrap.appendChild(control); wrap.appendChild(label); } else {
      wrap.appendChild(label); wrap.appendChild(control);
    }
    if (extra && extra.name) { control.dataset.key = extra.name; }
    return wrap;
  }

  function numberOrEmpty(value) {
    var n = parseInt(value, 10);
    return isNaN(n) || n < 0 ? "" : n;
  }

  function renderForm() {
    var box = el("fieldset", { "class": "fe-form" }, [el("legend", { text: config.filename })]);
    [["title", M.formTitle], ["x-title-en", M.formTitleEn], ["description", M.formHelp],
     ["x-description-en", M.formHelpEn]].forEach(function (pair) {
      box.appendChild(input(pair[1], schema[pair[0]], function (v) { setOrDelete(schema, pair[0], v); changed(); },
                            "text", { name: "form-" + pair[0] }));
    });
    if (errors[""]) { box.appendChild(el("p", { "class": "error", text: errors[""] })); }
    return box;
  }

  function renderChoices(prop, box) {
    var choices = choicesOf(prop);
    var list = el("div", { "class": "fe-choices" }, [el("span", { "class": "fe-sub", text: M.choices })]);
    (choices || []).forEach(function (choice, index) {
      var row = el("div", { "class": "fe-choice" });
      row.appendChild(input(M.choiceValue, choice["const"], function (v) {
        choice["const"] = prop.type === "integer" || prop.type === "number" ? (v === "" ? v : Number(v)) : v;
        changed();
      }, "text", { name: "choice-const" }));
      row.appendChild(input(M.choiceTitle, choice.title, function (v) { setOrDelete(choice, "title", v); changed(); },
                            "text", { name: "choice-title" }));
      row.appendChild(input(M.choiceTitleEn, choice["x-title-en"], function (v) {
        setOrDelete(choice, "x-title-en", v); changed();
      }, "text", { name: "choice-title-en" }));
      var remove = el("button", { type: "button", "class": "btn small", text: M.removeChoice });
      remove.addEventListener("click", function () {
        choices.splice(index, 1);
        if (!choices.length) { delete prop.oneOf; }
        changed(); renderFields();
      });
      row.appendChild(remove);
      list.appendChild(row);
    });
    var add = el("button", { type: "button", "class": "btn small", text: M.addChoice });
    add.addEventListener("click", function () {
      var all = choicesOf(prop) || (prop.oneOf = []);
      all.push({ "const": "option" + (all.length + 1), "title": "" });
      changed(); renderFields();
    });
    list.appendChild(add);
    box.appendChild(list);
  }

  function renderField(name, prop, index, names) {
    var box = el("fieldset", { "class": "fe-field" + (errors[name] ? " has-error" : ""), "data-field": name },
                 [el("legend", { text: name })]);
    box.appendChild(input(M.name, name, function (v, control) {
      v = v.trim();
      var problem = !NAME.test(v) ? M.badName : (v !== name && v in properties() ? fmt(M.duplicateName, { name: v }) : "");
      control.setCustomValidity(problem);
      control.title = problem;
      if (problem || v === name) { return; }
      var renames = {}; renames[name] = v;
      var wasRequired = requiredList().indexOf(name) >= 0;
      rebuild(names, renames);
      if (wasRequired) { schema.required = requiredList().map(function (n) { return n === name ? v : n; }); }
      changed();
      renderFields();
      var again = fieldsEl.querySelector('fieldset[data-field="' + v + '"] input[data-key="name"]');
      if (again) { again.focus(); }
    }, "text", { name: "name", onChange: true }));
    box.appendChild(input(M.title, prop.title, function (v) { setOrDelete(prop, "title", v); changed(); },
                          "text", { name: "title" }));
    box.appendChild(input(M.titleEn, prop["x-title-en"], function (v) { setOrDelete(prop, "x-title-en", v); changed(); },
                          "text", { name: "x-title-en" }));
    box.appendChild(input(M.type, prop.type || "", function (v) { prop.type = v; changed(); renderFields(); }, "select",
                          { name: "type", options: config.types.map(function (t) { return [t, t]; }) }));
    box.appendChild(input(M.required, requiredList().indexOf(name) >= 0, function (v) { setRequired(name, v); changed(); },
                          "checkbox", { name: "required" }));
    box.appendChild(input(M.readOnly, prop.readOnly === true, function (v) {
      if (v) { prop.readOnly = true; } else { delete prop.readOnly; }
      changed();
    }, "checkbox", { name: "readOnly" }));
    if (prop.type === "string" || prop.type === undefined) {
      box.appendChild(input(M.widget, widgetOf(prop), function (v) { setWidget(prop, v); changed(); }, "select", {
        name: "widget",
        options: config.widgets.map(function (w) { return [w, w || M.widgetDefault]; })
      }));
      box.appendChild(input(M.ref, prop["x-ref"] || "", function (v) {
        setOrDelete(prop, "x-ref", v);
        if (v !== "user") { delete prop["x-role"]; }
        changed(); renderFields();
      }, "select", { name: "x-ref", options: config.refKinds.map(function (k) { return [k, k || M.refNone]; }) }));
      if (prop["x-ref"] === "user") {
        box.appendChild(input(M.role, prop["x-role"] || "", function (v) { setOrDelete(prop, "x-role", v); changed(); },
                              "select", { name: "x-role", options: [["", M.anyRole]].concat(
                                config.roles.map(function (r) { return [r, r]; })) }));
      }
      var lengths = el("div", { "class": "fe-row" });
      lengths.appendChild(input(M.minLength, prop.minLength, function (v) {
        setOrDelete(prop, "minLength", numberOrEmpty(v)); changed();
      }, "number", { name: "minLength" }));
      lengths.appendChild(input(M.maxLength, prop.maxLength, function (v) {
        setOrDelete(prop, "maxLength", numberOrEmpty(v)); changed();
      }, "number", { name: "maxLength" }));
      box.appendChild(lengths);
    }
    if (prop.type !== "boolean" && !prop["x-ref"]) { renderChoices(prop, box); }
    if (errors[name]) { box.appendChild(el("p", { "class": "error", text: errors[name] })); }
    var moves = el("div", { "class": "fe-row fe-moves" });
    [[M.moveUp, -1], [M.moveDown, 1]].forEach(function (pair) {
      var target = index + pair[1];
      if (target < 0 || target >= names.length) { return; }
      var button = el("button", { type: "button", "class": "btn small", text: pair[0] });
      button.addEventListener("click", function () {
        var order = names.slice();
        order[index] = names[target]; order[target] = name;
        rebuild(order); changed(); renderFields();
      });
      moves.appendChild(button);
    });
    var remove = el("button", { type: "button", "class": "btn small danger", text: M.removeField });
    remove.addEventListener("click", function () {
      delete properties()[name];
      setRequired(name, false);
      changed(); renderFields();
    });
    moves.appendChild(remove);
    box.appendChild(moves);
    return box;
  }

  function renderFields() {
    fieldsEl.innerHTML = "";
    if (!schema) { return; }
    fieldsEl.appendChild(renderForm());
    var names = Object.keys(properties());
    names.forEach(function (name, index) {
      var prop = properties()[name];
      if (prop && typeof prop === "object") { fieldsEl.appendChild(renderField(name, prop, index, names)); }
    });
    var add = el("button", { type: "button", "class": "btn", id: "form-add-field", text: M.addField });
    add.addEventListener("click", function () {
      var base = "new_field", name = base, n = 1;
      while (name in properties()) { n += 1; name = base + "_" + n; }
      properties()[name] = { type: "string", title: "" };
      changed(); renderFields();
    });
    fieldsEl.appendChild(add);
  }

  // ------------------------------------------------------------------------------------------ tabs

  function showTab(raw) {
    if (!raw && !rawValid) { return; }  // the fields need a valid JSON object
    tabFields.setAttribute("aria-selected", raw ? "false" : "true");
    tabRaw.setAttribute("aria-selected", raw ? "true" : "false");
    fieldsEl.hidden = raw;
    document.getElementById("form-raw").hidden = !raw;
    if (!raw) { renderFields(); }
  }

  rawEl.addEventListener("input", function () {
    try {
      var parsed = JSON.parse(rawEl.value);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) { throw new Error("{…}"); }
      schema = parsed; rawValid = true; rawError.textContent = "";
      tabFields.disabled = false;
    } catch (error) {
      rawValid = false; tabFields.disabled = true;
      rawError.textContent = fmt(M.rawInvalid, { error: error.message });
    }
    changed({ fromRaw: true });
  });

  // ------------------------------------------------------------------------------------------ preview, problems

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 300);
  }

  function preview() {
    if (!rawValid) { return Promise.resolve(); }
    var seq = ++previewSeq;
    return call("POST", config.urls.preview, { text: text() }).then(function (result) {
      if (seq !== previewSeq) { return; }  // a newer edit asked again
      if (!result.ok) { previewEl.innerHTML = ""; previewEl.appendChild(el("p", { "class": "error", text: errorText(result) })); return; }
      previewEl.innerHTML = result.data.html || "";
      if (!result.data.html) { previewEl.appendChild(el("p", { "class": "muted", text: M.previewEmpty })); }
      showErrors(result.data.errors || {});
    }).catch(function (error) { say(error.message, "bad"); });
  }

  function showErrors(found) {
    var same = JSON.stringify(found) === JSON.stringify(errors);
    errors = found;
    if (!same && !fieldsEl.hidden && !fieldsEl.contains(document.activeElement)) { renderFields(); }
    if (!same) { markFields(); }
  }

  function markFields() {  // mark fields in place (no re-render while someone types)
    Array.prototype.forEach.call(fieldsEl.querySelectorAll("fieldset.fe-field"), function (box) {
      var name = box.dataset.field, message = errors[name];
      box.classList.toggle("has-error", !!message);
      var note = box.querySelector(":scope > p.error");
      if (message && !note) { note = el("p", { "class": "error" }); box.insertBefore(note, box.querySelector(".fe-moves")); }
      if (note) { if (message) { note.textContent = message; } else { note.remove(); } }
    });
  }

  function showProblems(problems) {
    problemsEl.innerHTML = "";
    var found = {};
    problems.forEach(function (p) {
      var property = p.property || (/^properties\.([^.]+)/.exec(p.field || "") || [])[1] || "";
      if (!(property in found)) { found[property] = p.message; }
      var scenario = /^scenario /.test(p.element || "");  // a process's scenario the new form breaks
      var where = scenario ? [p.process, p.element, p.field].filter(Boolean).join(" · ")
                           : property || p.field || p.element || M.wholeForm;
      var item = el("li", { "class": "studio-problem-item", text: fmt(M.problemAt, { where: where, message: p.message }) });
      item.dataset.field = property;
      problemsEl.appendChild(item);
    });
    showErrors(found);
  }

  // ------------------------------------------------------------------------------------------ actions

  function saveDraft() {
    return call("PUT", config.urls.draft, { text: text() }).then(function (result) {
      if (!result.ok) { throw new Error(errorText(result)); }
      dirty = false;
      return result;
    });
  }

  function validate() {
    return call("POST", config.urls.validate, { text: text() }).then(function (result) {
      if (!result.ok) { throw new Error(errorText(result)); }
      showProblems(result.data.problems);
      say(result.data.problems.length ? fmt(M.problems, { n: result.data.problems.length }) : M.valid,
          result.data.problems.length ? "bad" : "ok");
    });
  }

  function deploy() {
    var comment = document.getElementById("form-comment");
    if (!comment.value.trim()) { say(M.noComment, "bad"); comment.focus(); return Promise.resolve(); }
    return saveDraft().then(function () {
      return call("POST", config.urls.deploy, { comment: comment.value.trim() });
    }).then(function (result) {
      if (result.status === 422 && result.data.problems) {
        showProblems(result.data.problems);
        say(fmt(M.problems, { n: result.data.problems.length }), "bad");
        return;
      }
      if (!result.ok) { throw new Error(errorText(result)); }
      comment.value = "";
      showProblems([]);
      say(fmt(M.deployed, { versions: result.data.versions.map(function (v) {
        return fmt(M.versionOf, { process: v.process, version: v.version });
      }).join(", ") }), "ok");
    });
  }

  function discard() {
    if (!window.confirm(M.confirmDiscard)) { return Promise.resolve(); }
    return call("DELETE", config.urls.draft).then(function (result) {
      if (!result.ok) { throw new Error(errorText(result)); }
      dirty = false;
      window.location.href = config.urls.self;
    });
  }

  function button(id, action) {
    var node = document.getElementById(id);
    node.addEventListener("click", function () {
      node.disabled = true;
      Promise.resolve().then(action).catch(function (error) { say(error.message, "bad"); })
        .then(function () { node.disabled = false; });
    });
  }

  // ------------------------------------------------------------------------------------------ start

  tabFields.addEventListener("click", function () { showTab(false); });
  tabRaw.addEventListener("click", function () { showTab(true); });
  button("form-save", function () { return saveDraft().then(function () { say(M.saved, "ok"); }); });
  button("form-discard", discard);
  button("form-validate", validate);
  button("form-deploy", deploy);
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  rawEl.value = config.form.text;
  try {
    schema = JSON.parse(config.form.text);
    if (!schema || typeof schema !== "object" || Array.isArray(schema)) { throw new Error("{…}"); }
    renderFields();
  } catch (error) {
    rawValid = false; tabFields.disabled = true;
    rawError.textContent = fmt(M.rawInvalid, { error: error.message });
    showTab(true);
  }
  window.studioForm = { schema: function () { return schema; }, preview: preview };  // for tests and the console
  preview();
})();
