"""Suite-wide setup: the programs the tests start must see Ctrl+C as a person's terminal does."""

from harness.sandbox import let_children_see_ctrl_c

# CI may start the suite as a background job, with SIGINT ignored (inherited by every child).
let_children_see_ctrl_c()
