"""The parent's side: planning the runs of a command, running each in its own child and
watching its process tree, and turning what the child returned into records."""
