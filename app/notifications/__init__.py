"""In-app notifications and their e-mail: the bell, the list, and the outbox the scheduler sends.

events.on_step is the one hook the ticket flow calls when it opens human tasks; events.remind_due_tasks and
outbox.send_due_mail run in every app process's scheduler (see app/timers/scheduler.py).
"""
