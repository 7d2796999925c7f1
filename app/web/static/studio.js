// The studio's modeler: bpmn-js with a small properties panel of our own (name, timer, form, assignee and
// department, lane, gateway default and conditions, script, decision), draft save, validation with the
// problems shown on their elements, and deploy. All texts come from the page (config.messages).
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("studio-config").textContent);
  var M = config.messages;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var statusEl = document.getElementById("studio-status");
  var panel = document.getElementById("studio-panel");
  var problemsEl = document.getElementById("studio-problems");
  var modeler, marked = [], dirty = false;

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (all, key) { return key in values ? values[key] : all; });
  }

  function say(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "studio-status" + (kind ? " " + kind : "");
  }

  function call(method, url, body) {
    var options = {
      method: method, credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf }
    };
    if (body !== undefined) { options.body = JSON.stringify(body); }
    return fetch(url, options).then(function (response) {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") < 0) {
        throw new Error(response.status === 400 ? M.expired : fmt(M.failed, { status: response.status }));
      }
      return response.json().then(function (data) { return { status: response.status, ok: response.ok, data: data }; });
    });
  }

  function errorText(result) {
    var data = result.data || {};
    var fields = Object.keys(data.errors || {}).map(function (k) { return data.errors[k]; });
    return fields.length ? fields.join(" ") : (data.error || fmt(M.failed, { status: result.status }));
  }

  // ------------------------------------------------------------------------------------------ loading

  function loadDiagram(version) {
    say(M.loading);
    var url = config.urls.diagram + (version ? "?version=" + encodeURIComponent(version) : "");
    return call("GET", url).then(function (result) {
      if (!result.ok) { throw new Error(errorText(result)); }
      var d = result.data;
      return modeler.importXML(d.xml).then(function (imported) {
        keepDataReferences(imported.warnings);
        modeler.get("canvas").zoom("fit-viewport");
        dirty = false;
        showProblems([]);
        render(null);
        document.getElementById("studio-newest").textContent = d.newest;
        var text;
        if (d.new) {
          text = fmt(M.newDraft, { who: d.draft_saved_by, when: new Date(d.draft_saved_at).toLocaleString() });
        } else if (d.source === "draft") {
          text = fmt(M.draftShown, { who: d.draft_saved_by, when: new Date(d.draft_saved_at).toLocaleString(),
                                     version: d.version });
          if (d.version !== d.newest) { text += " " + fmt(M.staleDraft, { version: d.version, newest: d.newest }); }
        } else if (d.version !== d.newest) {
          text = fmt(M.olderShown, { version: d.version, newest: d.newest });
        } else {
          text = fmt(M.versionShown, { version: d.version });
        }
        if (d.draft_tables.length) { text += " " + fmt(M.draftTables, { files: d.draft_tables.join(", ") }); }
        if (window.studioScenarios) { window.studioScenarios.show(d.scenarios, d.scenarios_draft); }
        say(text);
      });
    }).catch(function (error) { say(fmt(M.loadFailed, { error: error.message }), "bad"); });
  }

  // SpiffWorkflow names a multi-instance task's collection by a variable (<bpmn:loopDataInputRef>supporters</…>),
  // which the BPMN model reads as a reference to an element id and drops when no element has it. Re-attach each
  // such reference as a detached element with that id, so the exported diagram names the variable unchanged.
  function keepDataReferences(warnings) {
    var moddle = modeler.get("moddle");
    (warnings || []).forEach(function (warning) {
      var property = String(warning.property || "").replace(/^bpmn:/, "");
      if (warning.element && warning.value && /^loopData(Input|Output)Ref$/.test(property)) {
        warning.element.set(property, moddle.create("bpmn:DataInput", { id: warning.value }));
      }
    });
  }

  // ------------------------------------------------------------------------------------------ model helpers

  function service(name) { return modeler.get(name); }

  function is(bo, type) { return bo && bo.$instanceOf && bo.$instanceOf(type); }

  function extensionOf(bo, type) {
    var ext = bo.extensionElements;
    return ext && (ext.values || []).filter(function (v) { return is(v, type); })[0];
  }

  function ensureExtension(element, type, attrs) {
    var bo = element.businessObject, moddle = service("moddle"), modeling = service("modeling");
    var ext = bo.extensionElements;
    if (!ext) {
      ext = moddle.create("bpmn:ExtensionElements", { values: [] });
      modeling.updateProperties(element, { extensionElements: ext });
    }
    var found = extensionOf(bo, type);
    if (!found) {
      found = moddle.create(type, attrs || {});
      modeling.updateModdleProperties(element, ext, { values: (ext.values || []).concat([found]) });
    }
    return found;
  }

  function propertyValue(bo, name) {
    var container = extensionOf(bo, "spiffworkflow:Properties");
    var prop = container && (container.properties || []).filter(function (p) { return p.name === name; })[0];
    return prop ? prop.value || "" : "";
  }

  function setProperty(element, name, value) {
    var modeling = service("modeling"), bo = element.businessObject;
    var container = extensionOf(bo, "spiffworkflow:Properties");
    var prop = container && (container.properties || []).filter(function (p) { return p.name === name; })[0];
    if (!value) {
      if (prop) {
        modeling.updateModdleProperties(element, container,
          { properties: container.properties.filter(function (p) { return p !== prop; }) });
      }
      return;
    }
    if (prop) { modeling.updateModdleProperties(element, prop, { value: value }); return; }
    container = ensureExtension(element, "spiffworkflow:Properties", { properties: [] });
    prop = service("moddle").create("spiffworkflow:Property", { name: name, value: value });
    modeling.updateModdleProperties(element, container, { properties: (container.properties || []).concat([prop]) });
  }

  function timerOf(bo) {
    return (bo.eventDefinitions || []).filter(function (d) { return is(d, "bpmn:TimerEventDefinition"); })[0];
  }

  function expression(body) { return service("moddle").create("bpmn:FormalExpression", { body: body }); }

  var LITERAL = /^\s*(?:"([^"\\]*)"|'([^'\\]*)')\s*$/;

  // ------------------------------------------------------------------------------------------ the panel

  function field(labelText, input, help) {
    var wrap = document.createElement("div");
    wrap.className = "field";
    var label = document.createElement("label");
    label.textContent = labelText;
    label.htmlFor = input.id;
    wrap.appendChild(label);
    wrap.appendChild(input);
    if (help) {
      var small = document.createElement("small");
      small.className = "muted";
      small.textContent = help;
      wrap.appendChild(small);
    }
    panel.appendChild(wrap);
    return input;
  }

  function textInput(id, value, multiline) {
    var input = document.createElement(multiline ? "textarea" : "input");
    input.id = id;
    if (!multiline) { input.type = "text"; } else { input.rows = multiline; input.spellcheck = false; }
    input.value = value || "";
    return input;
  }

  function select(id, options, value) {
    var input = document.createElement("select");
    input.id = id;
    options.forEach(function (o) {
      var option = document.createElement("option");
      option.value = o[0];
      option.textContent = o[1];
      if (o[0] === value) { option.selected = true; }
      input.appendChild(option);
    });
    if (value && options.every(function (o) { return o[0] !== value; })) {  // keep an unknown value visible
      var extra = document.createElement("option");
      extra.value = extra.textContent = value;
      extra.selected = true;
      input.appendChild(extra);
    }
    return input;
  }

  function onChange(input, apply) {
    input.addEventListener("change", function () { apply(input.value); dirty = true; });
  }

  function render(element) {
    panel.innerHTML = "";
    var heading = document.createElement("h2");
    panel.appendChild(heading);
    if (!element || element.type === "label") {
      heading.textContent = M.noSelection;
      return;
    }
    var bo = element.businessObject, modeling = service("modeling");
    heading.textContent = bo.$type.replace(/^bpmn:/, "") + " · " + bo.id;
    panel.dataset.element = bo.id;

    if (!is(bo, "bpmn:Process")) {
      onChange(field(M.name, textInput("p-name", bo.name)), function (v) { modeling.updateLabel(element, v); });
    }
    var timer = timerOf(bo);
    if (timer) { renderTimer(element, timer); }
    if (is(bo, "bpmn:UserTask")) {
      var forms = [["", M.noForm]].concat(config.forms.map(function (f) { return [f, f]; }));
      onChange(field(M.form, select("p-form", forms, propertyValue(bo, "formJsonSchemaFilename"))),
        function (v) { setProperty(element, "formJsonSchemaFilename", v); });
      onChange(field(M.assignee, textInput("p-assignee", propertyValue(bo, "assignee"))),
        function (v) { setProperty(element, "assignee", v.trim()); });
      onChange(field(M.department, textInput("p-department", propertyValue(bo, "department"))),
        function (v) { setProperty(element, "department", v.trim()); });
    }
    if (is(bo, "bpmn:FlowNode") && !is(bo, "bpmn:BoundaryEvent") && element.parent &&
        /^bpmn:(Participant|Lane)$/.test(element.parent.type)) {
      renderLane(element);
    }
    if (is(bo, "bpmn:ExclusiveGateway") || is(bo, "bpmn:InclusiveGateway")) { renderGateway(element); }
    if (is(bo, "bpmn:SequenceFlow") && bo.sourceRef &&
        (is(bo.sourceRef, "bpmn:ExclusiveGateway") || is(bo.sourceRef, "bpmn:InclusiveGateway"))) {
      renderCondition(element, "p-condition", M.condition);
    }
    if (is(bo, "bpmn:ScriptTask")) {
      onChange(field(M.script, textInput("p-script", bo.script, 8)),
        function (v) { modeling.updateProperties(element, { script: v }); });
    }
    if (is(bo, "bpmn:BusinessRuleTask")) {
      var called = extensionOf(bo, "spiffworkflow:CalledDecisionId");
      var decisions = [["", M.none]].concat(config.decisions.map(function (d) { return [d, d]; }));
      onChange(field(M.decision, select("p-decision", decisions, called ? called.value : "")), function (v) {
        var target = ensureExtension(element, "spiffworkflow:CalledDecisionId", { value: v });
        modeling.updateModdleProperties(element, target, { value: v });
      });
    }
  }

  function renderTimer(element, timer) {
    var modeling = service("modeling");
    var kind = ["timeDuration", "timeDate", "timeCycle"].filter(function (k) { return timer[k]; })[0] || "timeDuration";
    var body = timer[kind] ? timer[kind].body || "" : "";
    var literal = LITERAL.exec(body);
    var kindInput = field(M.timerKind, select("p-timer-kind",
      [["timeDuration", M.timeDuration], ["timeDate", M.timeDate], ["timeCycle", M.timeCycle]], kind));
    var modeInput = field(M.timerMode, select("p-timer-mode",
      [["fixed", M.fixed], ["expression", M.expression]], literal ? "fixed" : "expression"));
    var valueInput = field(M.timerValue, textInput("p-timer-value",
      literal ? (literal[1] !== undefined ? literal[1] : literal[2]) : body),
      kind === "timeDate" ? M.dateHelp : M.durationHelp);
    function apply() {
      var value = valueInput.value.trim();
      var text = modeInput.value === "fixed" ? JSON.stringify(value) : value;
      var props = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
      props[kindInput.value] = expression(text);
      modeling.updateModdleProperties(element, timer, props);
      dirty = true;
    }
    [kindInput, modeInput, valueInput].forEach(function (input) { input.addEventListener("change", apply); });
  }

  function renderLane(element) {
    var registry = service("elementRegistry"), modeling = service("modeling");
    var lanes = registry.filter(function (e) { return e.type === "bpmn:Lane"; });
    if (!lanes.length) { return; }
    var current = (element.businessObject.lanes || [])[0];
    var options = lanes.map(function (lane) { return [lane.id, lane.businessObject.name || lane.id]; });
    onChange(field(M.lane, select("p-lane", options, current ? current.id : "")), function (laneId) {
      var lane = registry.get(laneId);
      var dy = (lane.y + lane.height / 2) - (element.y + element.height / 2);
      modeling.moveElements([element], { x: 0, y: Math.round(dy) });
    });
  }

  function renderGateway(element) {
    var bo = element.businessObject, modeling = service("modeling"), registry = service("elementRegistry");
    var outgoing = bo.outgoing || [];
    function target(flow) { return (flow.targetRef && (flow.targetRef.name || flow.targetRef.id)) || flow.id; }
    var options = [["", M.none]].concat(outgoing.map(function (f) { return [f.id, (f.name ? f.name + " → " : "") + target(f)]; }));
    onChange(field(M.defaultFlow, select("p-default", options, bo["default"] ? bo["default"].id : "")), function (id) {
      var flow = outgoing.filter(function (f) { return f.id === id; })[0];
      modeling.updateProperties(element, { "default": flow });
      render(element);
    });
    outgoing.forEach(function (flow) {
      if (bo["default"] === flow) { return; }
      renderCondition(registry.get(flow.id), "p-condition-" + flow.id, fmt(M.conditionOf, { target: target(flow) }));
    });
  }

  function renderCondition(flowElement, id, labelText) {
    var bo = flowElement.businessObject, modeling = service("modeling");
    var body = bo.conditionExpression ? bo.conditionExpression.body || "" : "";
    onChange(field(labelText, textInput(id, body, 2)), function (v) {
      v = v.trim();
      modeling.updateProperties(flowElement, { conditionExpression: v ? expression(v) : undefined });
    });
  }

  // ------------------------------------------------------------------------------------------ problems

  function findElement(id) {
    if (!id) { return null; }
    var registry = service("elementRegistry");
    return registry.get(id) || registry.filter(function (e) {
      return e.type === "bpmn:Participant" && e.businessObject.processRef && e.businessObject.processRef.id === id;
    })[0] || null;
  }

  function showProblems(problems) {
    var canvas = service("canvas"), overlays = service("overlays");
    overlays.remove({ type: "studio-problem" });
    marked.forEach(function (id) { canvas.removeMarker(id, "studio-problem"); });
    marked = [];
    problemsEl.innerHTML = "";
    problems.forEach(function (p) {
      var element = findElement(p.element || p.process);
      var item = document.createElement("li");
      item.className = "studio-problem-item";
      item.dataset.element = p.element || "";
      item.textContent = fmt(M.problemAt, { element: p.element || p.file, field: p.field || "-", message: p.message });
      if (element) {
        if (marked.indexOf(element.id) < 0) {
          canvas.addMarker(element.id, "studio-problem");
          marked.push(element.id);
          overlays.add(element.id, "studio-problem", {
            position: { top: -10, right: 10 },
            html: '<span class="studio-problem-badge" title="">!</span>'
          });
        }
        item.tabIndex = 0;
        item.addEventListener("click", function () {
          service("selection").select(element);
          canvas.scrollToElement(element);
        });
      }
      problemsEl.appendChild(item);
    });
  }

  // ------------------------------------------------------------------------------------------ actions

  function currentXml() { return modeler.saveXML({ format: true }).then(function (r) { return r.xml; }); }

  function saveDraft() {
    return currentXml().then(function (xml) { return call("PUT", config.urls.draft, { xml: xml }); })
      .then(function (result) {
        if (!result.ok) { throw new Error(errorText(result)); }
        dirty = false;
        // the edited scenarios are part of the draft: the deploy runs them
        return window.studioScenarios ? window.studioScenarios.save().then(function () { return result; }) : result;
      });
  }

  function validate() {
    return currentXml().then(function (xml) { return call("POST", config.urls.validate, { xml: xml }); })
      .then(function (result) {
        if (!result.ok) { throw new Error(errorText(result)); }
        showProblems(result.data.problems);
        say(result.data.problems.length ? fmt(M.problems, { n: result.data.problems.length }) : M.valid,
            result.data.problems.length ? "bad" : "ok");
        return result.data.problems;
      });
  }

  function deploy() {
    var comment = document.getElementById("studio-comment");
    if (!comment.value.trim()) { say(M.noComment, "bad"); comment.focus(); return Promise.resolve(); }
    return saveDraft().then(function () {
      return call("POST", config.urls.deploy, { comment: comment.value.trim() });
    }).then(function (result) {
      if (result.status === 422 && result.data.problems) {
        showProblems(result.data.problems);
        say(result.data.error || fmt(M.problems, { n: result.data.problems.length }), "bad");
        return;
      }
      if (!result.ok) { throw new Error(errorText(result)); }
      comment.value = "";
      if (config.isNew) { document.getElementById("studio-newest-label").textContent = M.newestLabel; }
      config.isNew = false;
      return loadDiagram().then(function () { say(fmt(M.deployed, { version: result.data.version }), "ok"); });
    });
  }

  function discard() {
    if (!window.confirm(M.confirmDiscard)) { return Promise.resolve(); }
    return call("DELETE", config.urls.draft).then(function (result) {
      if (!result.ok) { throw new Error(errorText(result)); }
      if (config.isNew) { window.location.href = config.urls.home; return; }  // nothing deployed to show
      return loadDiagram().then(function () { say(M.discarded, "ok"); });
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

  // ------------------------------------------------------------------------------------------ start

  fetch(config.urls.moddle, { credentials: "same-origin" }).then(function (r) { return r.json(); })
    .then(function (descriptor) {
      modeler = new BpmnJS({
        container: "#studio-canvas",
        keyboard: { bindTo: document },
        moddleExtensions: { spiffworkflow: descriptor }
      });
      modeler.on("selection.changed", function (event) { render(event.newSelection[0] || null); });
      modeler.on("commandStack.changed", function () {
        dirty = true;
        var selected = service("selection").get()[0];
        if (selected && !panel.contains(document.activeElement)) { render(selected); }
      });
      button("studio-save", function () { return saveDraft().then(function () { say(M.saved, "ok"); }); });
      button("studio-discard", discard);
      button("studio-validate", validate);
      button("studio-deploy", deploy);
      window.addEventListener("beforeunload", function (event) {
        if (dirty || (window.studioScenarios && window.studioScenarios.isDirty())) {
          event.preventDefault(); event.returnValue = "";
        }
      });
      window.studioModeler = modeler;  // for tests and the browser console
      if (window.studioScenarios) {  // scenarios run against the diagram as it is in the modeler
        window.studioScenarios.source = function () { return currentXml().then(function (xml) { return { xml: xml }; }); };
      }
      return loadDiagram(config.version);
    });
})();
