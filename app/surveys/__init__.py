"""The satisfaction survey (R2-5, R3-6): sent by the `satisfaction_survey` diagram after a close (or by a supervisor),
answered on a public page through an unguessable single-use link."""
