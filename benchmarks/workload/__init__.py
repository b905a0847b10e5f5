"""The workload every strategy feeds: the FC-Siam-diff network and its training step."""
