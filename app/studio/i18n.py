"""The modeler script's labels and messages, in the page's language (the script shows only these)."""
from app.i18n import _


def script_messages():
    return {
        "loading": _("Loading the diagram…"),
        "loadFailed": _("The diagram could not be opened: {error}"),
        "draftShown": _("Showing your draft (saved by {who} at {when}), based on version {version}."),
        "newestLabel": _("newest version"),
        "newDraft": _("A new process, not deployed yet (draft saved by {who} at {when}): validate it and deploy it "
                      "as version 1."),
        "versionShown": _("Showing version {version}."),
        "olderShown": _("Showing version {version}; the newest is {newest}. Saving makes it your draft."),
        "saved": _("Draft saved."),
        "staleDraft": _("Your draft is based on version {version}; the newest is {newest}: check what changed before "
                        "deploying."),
        "draftTables": _("Saved decision tables: {files} (deployed with the diagram)."),
        "discarded": _("Draft discarded; the newest version is shown."),
        "valid": _("No problems: the diagram can be deployed."),
        "problems": _("{n} problem(s): fix them before deploying."),
        "deployed": _("Deployed as version {version}."),
        "expired": _("The page has expired. Reload it and try again."),
        "failed": _("The request failed ({status})."),
        "noSelection": _("Select an element in the diagram to edit it."),
        "id": _("Id"),
        "name": _("Name"),
        "type": _("Type"),
        "timer": _("Timer"),
        "timerKind": _("Kind"),
        "timeDuration": _("Duration (after the task starts)"),
        "timeDate": _("Date"),
        "timeCycle": _("Cycle"),
        "timerMode": _("Value"),
        "fixed": _("Fixed value"),
        "expression": _("Expression (Python, from the process data)"),
        "timerValue": _("Timer value"),
        "durationHelp": _("ISO 8601: PT15M = 15 minutes, PT2H = 2 hours, P1D = 1 day."),
        "dateHelp": _("ISO 8601 date and time, e.g. 2026-12-31T18:00:00+08:00."),
        "form": _("Form shown"),
        "noForm": _("(no form)"),
        "assignee": _("Assignee (expression)"),
        "department": _("Department (expression)"),
        "lane": _("Lane (role that works it)"),
        "defaultFlow": _("Default flow (taken when no condition holds)"),
        "none": _("(none)"),
        "condition": _("Condition (Python expression)"),
        "conditionOf": _("Condition of the flow to “{target}”"),
        "script": _("Script (Python)"),
        "decision": _("Decision table"),
        "documentation": _("Description"),
        "apply": _("Apply"),
        "problemAt": _("{element}: {field}: {message}"),
        "noComment": _("Say in a comment what the new version changes."),
        "confirmDiscard": _("Discard your draft and open the newest version?"),
    }


def scenario_messages():
    """The scenario panel's labels and messages (studio-scenarios.js)."""
    return {
        "noFiles": _("This diagram has no scenario file."),
        "running": _("Running the scenarios…"),
        "pass": _("PASS"),
        "fail": _("FAIL"),
        "passed": _("{scenario} ({steps} steps)"),
        "failedAt": _("{scenario}: {where}{message}"),
        "step": _("step {step} ({label}): "),
        "allPass": _("All {n} scenarios pass."),
        "someFail": _("{failed} scenario(s) fail, {passed} pass: fix the diagram or the scenarios before deploying."),
        "saved": _("Scenarios saved as draft."),
        "expired": _("The page has expired. Reload it and try again."),
        "failed": _("The request failed ({status})."),
    }
