"""Load benchmark of the real bot process against the fake Discord and AceData (`python -m bench.run`)."""
