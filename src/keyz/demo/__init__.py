"""The demo group: `keyz demo`, the throwaway sandbox it runs in, and the provider simulator.

Beside the command line, not under it: nothing in keyz's core imports this package
(tests/test_architecture.py enforces it). The tests and benchmarks use it too.

- ``story``: ``keyz demo`` (a week of ledger, told in a minute) and ``keyz demo --serve``.
- ``sandbox``: throwaway gpg homes and pass stores made with the real gpg, pass and git.
- ``simulator``: an https loopback stand-in for every provider, with the real wire's faults.
"""
