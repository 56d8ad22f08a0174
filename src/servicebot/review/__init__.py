"""Turns the interaction log into work for the staff who edit the FAQ.

`servicebot review` groups by subject what residents asked that the bot did not answer
outright (it could not, offered "did you mean", or sent them elsewhere) or handed to staff,
ranks the groups for action (the most residents first), with the trend against the period
before, what the bot did, the nearest FAQ entry and what to do next; with
``--suggest-yaml``, the YAML to paste so those questions are answered next time. It also
lists the answers residents rated 👎. `servicebot stats` gives the usage numbers. Reports
are for office staff, so headings are Chinese and times are China time (UTC+8).

- `period`: the time span a report covers (`--since`), shown in China time;
- `subjects`: a question → its subject (`subject_of`), from word knowledge that plugs in as folds;
- `clustering`: questions → one group per subject;
- `report`: the groups ranked for action, the weekly counts, the 👎 answers;
- `drafting`: ready-to-paste YAML for a group (new phrasings, or a `draft: true` entry);
- `trial`: the snippets tried on the FAQ with `faq check`'s checks before anyone pastes them;
- `layout`: where things are in the staff's files, and YAML written as they write it;
- `render`: the review as a terminal table, CSV, JSON, HTML or YAML only (`tables` lays out
  columns, `charts` draws the SVG);
- `stats`: usage numbers per day and per entry.
"""
