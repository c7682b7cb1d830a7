"""``make bench``: no benchmark is defined yet; the near-real-time issue adds them."""

import sys

print("no benchmarks yet", file=sys.stderr)
