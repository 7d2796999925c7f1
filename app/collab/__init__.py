"""Working a ticket together (R2-3, R3-4, R0-4): transfer to another department or person with a reason and an
expected time, comments between everyone who works or worked on it, and cross-department collaboration (a lead
department plus supporting departments, each with its own task, milestone and deadline).

The diagrams decide what a transfer or a collaboration does (the BPMN messages `transfer` and `collaborate`);
this package checks who may send them and with what, sends them, records them and shows them."""
