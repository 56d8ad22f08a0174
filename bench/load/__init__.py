"""Load checks: the real bot, its channels in one process, against fake servers and many
clients at once; latency beside a direct call, nothing lost or answered twice."""
