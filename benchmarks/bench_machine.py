"""The machine a benchmark ran on: the CPU's model name and flags, read once from /proc/cpuinfo.

Every benchmark prints the CPU with its figures (a time means little without it); the scripts
share this one reader. Standard library only, so Matterport's port environment can import it too.
"""

import functools
import platform


@functools.lru_cache(maxsize=1)
def cpu_info():
    """(model name, set of CPU flags) from /proc/cpuinfo; elsewhere platform.processor() and an
    empty set."""
    model, flags = None, set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model or platform.processor() or platform.machine() or "unknown CPU", flags
