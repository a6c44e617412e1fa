"""The test command's runner (tests/run): targets, checks, TAP, the plan."""
