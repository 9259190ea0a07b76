"""The machine a run computes on, and what is recorded about it.

    machine      CPU facts, threads, and TensorFlow's oneDNN kernels turned on before TensorFlow loads
    logs         the backends' start-up log lines kept off the command line's output
    provenance   versions, device and machine facts recorded in each metrics.json
    env          what `lnn-keras env` prints for a bug report
    allocator    glibc's huge pages for large allocations, set when `lnn-keras run` starts

`import keras_lnn` runs `machine.enable_onednn` and, where asked, `logs.quiet_backends`; neither
module imports anything else of the package, so this package's `__init__` imports nothing.
"""
