"""Benchmark, profiling and scale-out helpers (see docs/benchmark.md, docs/deployment.md).

- `python -m bench`            the benchmark (`make bench`), ours against stock Rasa 3.6
- `python -m bench.profile`    py-spy under load (`make profile`)
- `python -m bench.services`   throwaway PostgreSQL and Redis servers on loopback
"""
