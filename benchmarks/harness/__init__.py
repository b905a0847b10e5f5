"""The harness: isolated child processes, the probes that watch them, the session that
plans and runs them and writes their records."""
