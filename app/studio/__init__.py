"""The process owner studio (issue 12): edit a deployed diagram in the browser, save it as a draft, validate it
with the deploy validation, deploy it as a new version with a comment, and roll back to an earlier version.

`service` holds one function per use case; `pages` the page and the JSON endpoints the modeler's script calls.
"""
