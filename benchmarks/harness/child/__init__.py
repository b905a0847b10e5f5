"""The child's side: what runs in the fresh process of one measurement (its entry and
exit, the probes, the measured loop, the training step and the accelerators-fed
search), and the fork server's preload that those processes are forked from."""
