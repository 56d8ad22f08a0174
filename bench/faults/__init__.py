"""Fault injection: real bot processes killed, stopped, starved or fed what breaks them, each
figure beside a baseline checkout's (--compare SRC); and half-saved FAQ files."""
