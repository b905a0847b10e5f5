"""The harness: each measurement in a fresh child process, the probes that watch it, and
the plan, session and records around it. By side:

    parent/    the parent's side: plan (what to run), session (run the jobs, write the
               records), runner (start a child, watch and kill its tree), builder (the
               record of a run), presets, environment, speed, page_cache
    child/     the child's side: start and entry (the process's first call, its exit),
               measure (a strategy's run), probe (baseline, loop, graph), feeding (the
               accelerators-fed search), sampler and probes (memory), pages and preload
               (the fork server), data_service (a tf.data service of the run's own)
    commands/  a harness per command beyond run: profile and pipelines (a user's own
               pipeline), limits (prove-limit), calibrate
    spec.py    what crosses from the parent to the child: the run's spec
    procs.py   process trees, read and killed from either side
    keras_callback.py   in the user's own process: records of a real model.fit
"""
