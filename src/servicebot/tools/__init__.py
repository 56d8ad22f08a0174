"""What staff and operators run from the command line (`cli.py` owns the parser and exit codes):

- the body of each command, thin glue to the domain wings, by family (`cli.command` imports
  only the family it runs): `faq_commands` (faq check / test / stale / diff), `ask_commands`
  (ask, eval, chat), `report_commands` (review, stats, tickets), `run_commands` (run, health);
  the staff desk's accounts live with the desk (`staffdesk/admin.py`), the poster in `poster/`;
- `output`: how a command writes a line or a report;
- `evaluate`: labelled question sets → accuracy figures, for our matcher and two baselines;
- `health`: is this installation able to serve (`servicebot health`, the container check).
"""
