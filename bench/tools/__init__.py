"""Tools run by hand that build what the package ships or documents: the word tables, the
settings table of docs/configuration.md, the clerk's calibrated decision."""
