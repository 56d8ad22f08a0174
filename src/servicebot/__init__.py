"""servicebot: answers residents' questions about the Fenghuang sub-district office's services."""

__version__ = "0.1.0"
