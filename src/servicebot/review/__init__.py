"""Turns the interaction log into work for the staff who edit the FAQ.

`servicebot review` groups what residents asked that the bot could not answer outright
(unanswered and "did you mean" questions), ranks the groups by how many residents asked,
shows the nearest FAQ entry and, with ``--suggest-yaml``, the YAML to paste so those
questions are answered next time; it also lists the answers residents rated 👎.
`servicebot stats` gives the usage numbers. Reports are for office staff, so headings are
Chinese and times are China time (UTC+8).

- `period`: the time span a report covers (`--since`), shown in China time;
- `clustering`: questions → groups of the same question asked differently;
- `report`: the groups, with the nearest entry and what residents tapped, as report rows;
- `drafting`: ready-to-paste YAML for a group (new phrasings, or a drafted entry);
- `render`: the review as a terminal table, CSV, JSON or HTML (`tables` lays out columns);
- `stats`: usage numbers per day and per entry.
"""
