"""What staff and operators run from the command line (`cli.py` owns the parser and exit codes):

- `commands`: the body of each command, thin glue to the domain wings;
- `evaluate`: labelled question sets → accuracy figures, for our matcher and two baselines;
- `health`: is this installation able to serve (`servicebot health`, the container check).
"""
