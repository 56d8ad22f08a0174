"""The conversation runtime every channel shares, written once.

- `chat`: the conversation with a resident (`Conversation.handle`, the one way in for every
  channel): commands, presses, feedback, flood control, when to hand off;
- `events`: what goes in (`Text`, `Ask`, `Press`, `Pick`, `NonText`) and comes out (`Said`),
  and what the desk is asked (`HandOff`, `Asked`);
- `buttons`: the data a button carries on the wire and the press it decodes to;
- `memory`: numbered choices per resident, for channels without real buttons;
- `delivery`: late messages (a staff reply) routed to the resident's channel;
- `tickets`: the hand-off desk (转人工): a resident's question reaches staff, and their answer
  reaches the resident, on whichever channel the resident used;
- `throttle`: flood control and pacing; `hours`: office hours, told honestly.

Imports run one way: `events` uses `buttons`; `memory`, `delivery`, `chat` and `tickets` use
`events`; `chat` is imported only by the channels.
"""
