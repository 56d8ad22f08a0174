"""The conversation runtime every channel shares, written once.

- `chat`: the conversation with a resident — events in, what to say out, choice memory,
  the button codec, late deliveries;
- `tickets`: the hand-off desk (转人工): a resident's question reaches staff, and their answer
  reaches the resident, on whichever channel the resident used;
- `throttle`: flood control and pacing; `hours`: office hours, told honestly.
"""
